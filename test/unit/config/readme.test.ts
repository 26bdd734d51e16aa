/**
 * The README documents every config: each broker, dynamic broker and topic key from the definitions must
 * appear in its tables, so adding a key without documenting it fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BROKER_CONFIGS,
  DYNAMIC_BROKER_CONFIGS,
  TOPIC_CONFIGS,
} from '../../../src/config/index.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each(BROKER_CONFIGS.map((d) => d.name))('documents broker config %s', (name) => {
    expect(readme).toContain(`| \`${name}\` |`);
  });
  it.each(DYNAMIC_BROKER_CONFIGS.map((d) => d.name))('documents dynamic config %s', (name) => {
    expect(readme).toContain(`| \`${name}\` |`);
  });
  it.each(TOPIC_CONFIGS.map((d) => d.name))('documents topic config %s', (name) => {
    expect(readme).toContain(`| \`${name}\` |`);
  });
});
