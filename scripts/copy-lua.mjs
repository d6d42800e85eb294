// `npm run build` runs this after tsc: the relay's Redis scripts are .lua files read at start-up
// beside the modules that load them (relay/redis/lua.ts), so dist/ needs a copy of each.
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

function copyLua(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyLua(path);
    else if (name.endsWith('.lua')) {
      const target = join(ROOT, 'dist', relative(ROOT, path));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(path, target);
    }
  }
}

copyLua(join(ROOT, 'relay'));
