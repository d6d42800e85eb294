// `npm start` runs this first: it builds dist/ only when it is missing or older than a source
// file, so a start after a build compiles nothing, and a production install (npm ci --omit=dev,
// dist/ copied in, no sources: the container image) starts at once. Without dist/ and without
// TypeScript it says what to do instead of failing on `tsc: not found`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const OUTPUT = join(ROOT, 'dist/relay/main.js');
const SOURCES = ['relay', 'protocol', 'client-sdk'];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];

function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return /\.(ts|json|lua)$/.test(path) ? stat.mtimeMs : 0;
  let latest = 0;
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === 'dist') continue;
    latest = Math.max(latest, newest(join(path, name)));
  }
  return latest;
}

const built = existsSync(OUTPUT) ? statSync(OUTPUT).mtimeMs : 0;
// An install without the sources runs what it was given.
if (built > 0 && !existsSync(join(ROOT, 'relay'))) process.exit(0);
const sources = Math.max(...[...SOURCES, ...CONFIGS].map((p) => newest(join(ROOT, p))));
if (built > 0 && built >= sources) process.exit(0);

if (!existsSync(join(ROOT, 'node_modules/typescript'))) {
  process.stderr.write(
    built === 0
      ? 'dist/ is missing and TypeScript is not installed (production install?): build first with\n' +
          '  npm ci && npm run build\nthen copy dist/ beside the production install.\n'
      : 'dist/ is older than the sources, and TypeScript is not installed to rebuild it: starting the old build.\n',
  );
  process.exit(built === 0 ? 1 : 0);
}
const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
process.exit(result.status ?? 1);
