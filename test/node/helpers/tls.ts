/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl for a test and removed after. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './socket.js';

/** The certificate and key as files and as PEM text; `cleanup` removes them. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  cleanup: () => void;
}

/** Makes a fresh P-256 key and a one-day self-signed certificate naming 127.0.0.1 and localhost. */
export function selfSignedCertificate(): TestCertificate {
  const { dir, cleanup } = tempDir();
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  // biome-ignore format: one openssl option per line reads better
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), cleanup };
}
