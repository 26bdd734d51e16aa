// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'data/**',
      'coverage/**',
      'src/gen/**',
      'fault-runs/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Dependencies point one way (STYLE.md §2): the SDK and the codec must not reach into the broker.
    files: ['src/client/**/*.ts', 'src/codec/**/*.ts', 'src/errors/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/server/**', '**/log/**', '**/metadata/**', '**/cli/**'],
              message: 'client/, codec/ and errors/ depend only on proto/, codec/ and errors/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Pure cores: no I/O, no wall clock, no ambient randomness.
    files: ['src/codec/**/*.ts', 'src/metadata/image/**/*.ts', 'src/metadata/records.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:fs', 'node:net', 'classic-level', '@grpc/grpc-js'],
          patterns: [{ group: ['**/server/**', '**/log/**', '**/cli/**'], message: 'pure module' }],
        },
      ],
    },
  },
  {
    // Dependencies point one way (STYLE.md §2): raft/ sits below metadata/, server/ and cli/,
    // and the SDK is the broker's client, not a part of it. The server wires Raft into gRPC
    // (server/grpc/raft-peer.ts), never the reverse. The pure core's block below repeats these
    // patterns: for src/raft/*.ts it replaces this rule.
    files: ['src/raft/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/server/**', '**/metadata/**', '**/log/**', '**/cli/**', '**/client/**'],
              message:
                'raft/ depends only on util/, errors/, config/, codec/ and proto/ (STYLE.md §2)',
            },
          ],
        },
      ],
    },
  },
  {
    // The Raft core is a pure state machine (STYLE.md §1.1): time arrives as tick(), randomness
    // through an injected Rng, I/O through Ready. Only src/raft/io/ touches the world.
    files: ['src/raft/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'classic-level', '@grpc/*', 'pino'],
              message: 'pure module: I/O belongs in src/raft/io/',
            },
            {
              group: [
                '**/server/**',
                '**/log/**',
                '**/metadata/**',
                '**/cli/**',
                '**/client/**',
                '**/io/**',
              ],
              message: 'pure module',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'setTimeout',
        'setInterval',
        'setImmediate',
        'process',
        'Buffer',
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'use the injected Rng' },
        { object: 'Date', property: 'now', message: 'time arrives as tick()' },
      ],
    },
  },
  {
    // The group protocol and the assignors are pure (STYLE.md §1.1): the coordinator shard
    // brings time, I/O and randomness (member ids) in from outside.
    files: [
      'src/group/group-state.ts',
      'src/group/model.ts',
      'src/group/records.ts',
      'src/group/topic-partitions.ts',
      'src/group/assignors/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'classic-level', '@grpc/*', 'pino'],
              message: 'pure module: I/O belongs in coordinator-shard.ts',
            },
            {
              group: [
                '**/server/**',
                '**/log/**',
                '**/cli/**',
                '**/client/**',
                '**/replication/**',
              ],
              message: 'pure module',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'process'],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'pass randomness in' },
        { object: 'Date', property: 'now', message: 'pass the time in' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
