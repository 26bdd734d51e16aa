/**
 * How it works: seeds 1..500 of the deterministic simulator with 3 voters and a spare node,
 * every safety invariant checked after every event and liveness after healing (see
 * campaign-suite.ts). A failure prints its seed and a one-line replay command.
 */
import { describeCampaign } from './campaign-suite.js';

describeCampaign(3);
