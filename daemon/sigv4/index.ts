// AWS Signature Version 4 (Kinesis, Firehose), one scheme of the auth seam (daemon/auth registers sigv4Scheme).
export { signV4, payloadHash, amzDate, SIGV4_ALGORITHM, type SigV4Credentials, type SigV4Input, type SigV4Signature } from './signature-v4.js';
export { sigv4Scheme, sigv4DefinitionProblems, SIGV4_HEADERS, SIGV4_SIGNATURE_PLACEHOLDER } from './sigv4-scheme.js';
