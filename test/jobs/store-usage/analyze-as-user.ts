/**
 * Runs `analyzeStore` in a child process (started as another user by analyze-store.test.ts) and
 * prints the outcome as one JSON line: the only way to meet "permission denied" when tests run as root.
 */
import { analyzeStore } from '../../../jobs/store-usage/analyze-store.js';

const [stateDir, storeDir, nixConfFile] = process.argv.slice(2);
try {
  const analysis = await analyzeStore({ stateDir: stateDir!, storeDir: storeDir!, nixConfFile, includeDeadPaths: true });
  console.log(
    JSON.stringify({
      ok: true,
      source: analysis.source,
      rootsSource: analysis.roots.source,
      fallbackReason: analysis.fallbackReason,
      deadPaths: analysis.deadPaths,
      warnings: analysis.warnings,
      runtimeVisibility: analysis.runtimeRoots.visibility,
    }),
  );
} catch (err) {
  console.log(JSON.stringify({ ok: false, name: (err as Error).name, message: (err as Error).message }));
}
