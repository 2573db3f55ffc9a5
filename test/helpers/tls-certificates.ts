// Certificates for TLS tests, made by the machine's `openssl` in a temp directory: a private CA, and
// leaves it signs for 127.0.0.1/localhost (valid, expired, not yet valid, for another name), one
// signed by a CA nobody trusts, and a self-signed one. `openssl ca` is used for the leaves because
// it is the one OpenSSL 3.0 command that sets arbitrary validity dates (an expired certificate).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './folders.js';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  /** The private CA's certificate (PEM), and the file holding it. */
  ca: string;
  caFile: string;
  /** The CA that signed unknownIssuer: trusted by nobody unless a test hands it out. */
  strangerCa: string;
  /** Signed by the CA, for 127.0.0.1 and localhost, valid now. */
  valid: KeyPair;
  expired: KeyPair;
  notYetValid: KeyPair;
  /** Signed by the CA for wrong.example only. */
  wrongName: KeyPair;
  /** For 127.0.0.1 and localhost, signed by a CA that is never handed out. */
  unknownIssuer: KeyPair;
  selfSigned: KeyPair;
  remove(): void;
}

const CA_CONFIG = `[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[loopback]
subjectAltName = DNS:localhost,IP:127.0.0.1
basicConstraints = CA:FALSE
[wrong_name]
subjectAltName = DNS:wrong.example
basicConstraints = CA:FALSE
`;

export function makeTestCertificates(): TestCertificates {
  const temp = tempDir('destinations-tls-');
  const dir = temp.dir;
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');

  const makeCa = (name: string) => openssl('req', '-x509', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE');
  makeCa('test-ca');
  makeCa('stranger-ca');
  openssl('req', ...ecKey, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  const sign = (out: string, ca: string, extensions: string, validity: string[]) =>
    openssl('ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', `${ca}.crt`, '-keyfile', `${ca}.key`, '-in', 'leaf.csr', '-extensions', extensions, '-out', out, ...validity);
  sign('valid.crt', 'test-ca', 'loopback', ['-days', '30']);
  sign('expired.crt', 'test-ca', 'loopback', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']);
  sign('not-yet-valid.crt', 'test-ca', 'loopback', ['-startdate', '20900101000000Z', '-enddate', '20910101000000Z']);
  sign('wrong-name.crt', 'test-ca', 'wrong_name', ['-days', '30']);
  sign('unknown-issuer.crt', 'stranger-ca', 'loopback', ['-days', '30']);
  openssl('req', '-x509', ...ecKey, '-keyout', 'self.key', '-out', 'self.crt', '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');

  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const leaf = (cert: string): KeyPair => ({ cert: read(cert), key: read('leaf.key') });
  return {
    dir,
    ca: read('test-ca.crt'),
    caFile: join(dir, 'test-ca.crt'),
    strangerCa: read('stranger-ca.crt'),
    valid: leaf('valid.crt'),
    expired: leaf('expired.crt'),
    notYetValid: leaf('not-yet-valid.crt'),
    wrongName: leaf('wrong-name.crt'),
    unknownIssuer: leaf('unknown-issuer.crt'),
    selfSigned: { cert: read('self.crt'), key: read('self.key') },
    remove: temp.remove,
  };
}
