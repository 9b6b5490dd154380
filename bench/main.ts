// `npm run bench -- NAME [args]`: runs bench/NAME.ts's exported run(args);
// with no NAME, runs every benchmark in turn. Results go to bench/results/.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface BenchModule {
  run(args: string[]): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const available = readdirSync(here)
    .filter((f) => f.endsWith('.js') && f !== 'main.js' && !f.includes('.test.'))
    .map((f) => f.slice(0, -3))
    .sort();
  const chosen = name ? [name] : available;
  for (const b of chosen) {
    if (!available.includes(b)) {
      console.error(`bench: unknown benchmark "${b}"; available: ${available.join(', ')}`);
      process.exit(2);
    }
    const mod = (await import(pathToFileURL(join(here, `${b}.js`)).href)) as BenchModule;
    console.log(`\n== bench ${b} ==`);
    await mod.run(args);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
