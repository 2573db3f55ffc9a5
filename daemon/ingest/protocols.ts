// The inbound protocols the ingest speaks, registered here and nowhere else: a new one is a folder
// beside amplitude/ and segment/ and a line in this list (STYLE.md #10).
import { amplitudeProtocol } from './amplitude/index.js';
import type { InboundProtocol } from './inbound-protocol.js';
import { segmentProtocol } from './segment/index.js';

export function inboundProtocols(options: { maxEventBytes: number }): InboundProtocol[] {
  return [amplitudeProtocol(options.maxEventBytes), segmentProtocol()];
}
