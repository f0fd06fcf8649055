/**
 * Document storage at scale: an account with 50 chats over 24 months (1,200 topics) and 100,000
 * messages, written one message per task, then bound again five times as after as many restarts
 * (BENCH_RESTARTS). Compares
 * y-indexeddb (a database per topic, the format before) with the one-database store, in Node over
 * fake-indexeddb and in Debian's Chromium (a persistent profile, so that disk use is real).
 *
 *   npx tsx bench/storage.ts                  # both environments
 *   npx tsx bench/storage.ts node             # or: chromium
 *   BENCH_MESSAGES=20000 npx tsx bench/storage.ts
 *
 * Chromium needs a port: SAMEN_TEST_PORT (4541 unless set), on 127.0.0.1 only.
 * Also times three ways of applying a stored topic (a snapshot and 100 rows) to a document.
 */
import 'fake-indexeddb/auto';
import { chromium, type Page } from '@playwright/test';
import { build } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS } from '../tests/browser/devices';
import { loadVariants, runStore, type LoadVariant, type Row, type WorkloadOptions } from './storage-workload';

const options: WorkloadOptions = {
	chats: Number(process.env.BENCH_CHATS ?? 50),
	months: Number(process.env.BENCH_MONTHS ?? 24),
	messages: Number(process.env.BENCH_MESSAGES ?? 100_000),
	restarts: Math.max(2, Number(process.env.BENCH_RESTARTS ?? 5)),
	prefix: `bench-${Date.now()}-`
};
const environments = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['node', 'chromium'];

interface Result extends Row {
	environment: string;
}

async function inNode(): Promise<{ rows: Result[]; variants: LoadVariant[] }> {
	const rows: Result[] = [];
	for (const kind of ['y-indexeddb', 'samen'] as const) {
		rows.push({ environment: 'Node, fake-indexeddb', ...(await runStore(kind, options)) });
	}
	return { rows, variants: loadVariants(options.chats * options.months, 80, 100) };
}

async function inChromium(): Promise<{ rows: Result[]; variants: LoadVariant[] }> {
	const bundle = await build({
		stdin: {
			contents: `import { runStore, loadVariants } from './storage-workload'; Object.assign(globalThis, { runStore, loadVariants });`,
			resolveDir: fileURLToPath(new URL('.', import.meta.url)),
			loader: 'ts'
		},
		bundle: true,
		format: 'iife',
		platform: 'browser',
		target: 'es2022',
		write: false
	});
	const script = bundle.outputFiles[0]!.text;
	const server = createServer((request, response) => {
		if (request.url === '/bench.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
		else response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/bench.js"></script>');
	});
	const port = Number(process.env.SAMEN_TEST_PORT ?? 4541);
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
	// A fresh profile for each store, so that disk use is that store's alone.
	async function inProfile<T>(work: (page: Page) => Promise<T>): Promise<T> {
		const profile = await mkdtemp(join(tmpdir(), 'samen-storage-bench-'));
		const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
		try {
			const page = await context.newPage();
			await page.goto(`http://127.0.0.1:${port}/`);
			return await work(page);
		} finally {
			await context.close();
			await rm(profile, { recursive: true, force: true });
		}
	}
	try {
		const rows: Result[] = [];
		for (const kind of ['y-indexeddb', 'samen'] as const) {
			const row = await inProfile((page) =>
				page.evaluate(([kind, options]) => (globalThis as unknown as { runStore: typeof runStore }).runStore(kind, options), [kind, options] as const)
			);
			rows.push({ environment: 'Chromium', ...row });
		}
		const variants = await inProfile((page) =>
			page.evaluate(([topics]) => (globalThis as unknown as { loadVariants: typeof loadVariants }).loadVariants(topics, 80, 100), [options.chats * options.months] as const)
		);
		return { rows, variants };
	} finally {
		server.close();
	}
}

const mb = (bytes: number | undefined) => (bytes === undefined ? '–' : `${(bytes / 1e6).toFixed(1)} MB`);
const ms = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`);

const results: Result[] = [];
const variants: [string, LoadVariant[]][] = [];
for (const environment of environments) {
	const run = environment === 'chromium' ? await inChromium() : await inNode();
	results.push(...run.rows);
	variants.push([environment, run.variants]);
}

console.log(`\n${options.chats * options.months} topics, ${options.messages.toLocaleString('en')} messages, raw text ${mb(results[0]?.rawText)}\n`);
console.log('| environment | store | databases | write (1 message per task) | write transactions | bind all, 1st restart | later restarts, median | later, best | stored after write | stored after restarts | ÷ raw text | disk growth (Chromium, estimate) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of results) {
	console.log(
		`| ${row.environment} | ${row.store} | ${row.databases} | ${ms(row.write)} | ${row.writeTransactions.toLocaleString('en')} | ${ms(row.firstBind)} | ${ms(row.laterBindMedian)} | ${ms(row.laterBindBest)} | ${mb(row.bytesAfterWrite)} | ${mb(row.bytesAfterRestarts)} | ${(row.bytesAfterRestarts / row.rawText).toFixed(2)} | ${mb(row.diskAfterRestarts)} |`
	);
}
console.log('\nApplying a stored topic (a snapshot of 80 messages and 100 one-message rows), all topics, fastest of three:\n');
console.log('| environment | how | time |');
console.log('| --- | --- | --- |');
for (const [environment, list] of variants) for (const variant of list) console.log(`| ${environment} | ${variant.variant} | ${ms(variant.ms)} |`);
