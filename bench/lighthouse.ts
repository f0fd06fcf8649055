/**
 * Lighthouse's mobile performance audit (its default: a mid-range phone, simulated slow 4G and a
 * 4× slower CPU) of Samen served by the real server on loopback, in Debian's Chromium (CHROME_PATH,
 * default /usr/bin/chromium; headless, no sandbox):
 * - the first visit, the welcome screen: each run starts with empty storage;
 * - the chat list of a browser that holds an account and has the app installed (its service worker):
 *   storage is kept between runs.
 * Prints the score and the timings of each run and their median. Needs `npm run build` first (npm run
 * bench does it).
 */
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import puppeteer from 'puppeteer-core';
import { readdirSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../signaling/log';
import { startSignalingServer } from '../signaling/server';

const RUNS = Number(process.env.BENCH_LIGHTHOUSE_RUNS ?? 3);
const staticDir = fileURLToPath(new URL('../build', import.meta.url));
const server = await startSignalingServer({ port: 0, host: '127.0.0.1', staticDir, log: silentLogger });
const url = `http://localhost:${server.port}/`;

// The server compresses each file on its first request and keeps the result: ask for every file once, in
// both encodings, so that the runs measure the app, not the first request after a deployment.
for (const entry of readdirSync(staticDir, { recursive: true, withFileTypes: true })) {
	if (!entry.isFile()) continue;
	const path = relative(staticDir, `${entry.parentPath}/${entry.name}`);
	for (const encoding of ['br', 'gzip']) await (await fetch(new URL(path, url), { headers: { 'accept-encoding': encoding } })).arrayBuffer();
}

const AUDITS = {
	fcp: 'first-contentful-paint',
	lcp: 'largest-contentful-paint',
	tbt: 'total-blocking-time',
	cls: 'cumulative-layout-shift',
	si: 'speed-index'
} as const;
type Run = { score: number } & Record<keyof typeof AUDITS, number>;

const chrome = await chromeLauncher.launch({
	chromePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
	chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu']
});
/** Lighthouse `runs` times at the app's root; `keepStorage` for a returning user. */
async function audit(keepStorage: boolean): Promise<Run[]> {
	const runs: Run[] = [];
	for (let i = 0; i < RUNS; i++) {
		const result = await lighthouse(url, {
			port: chrome.port,
			output: 'json',
			logLevel: 'error',
			onlyCategories: ['performance'],
			disableStorageReset: keepStorage
		});
		if (!result) throw new Error('Lighthouse returned no result');
		const { categories, audits, runtimeError } = result.lhr;
		if (runtimeError) throw new Error(`Lighthouse: ${runtimeError.code} ${runtimeError.message}`);
		const run = { score: Math.round((categories.performance?.score ?? 0) * 100) } as Run;
		for (const [key, id] of Object.entries(AUDITS)) run[key as keyof typeof AUDITS] = audits[id]?.numericValue ?? NaN;
		runs.push(run);
		if (i === 0) {
			// What Lighthouse would improve, by its estimate of the time saved (first run only).
			const opportunities = Object.values(audits)
				.filter((audit) => audit.details?.type === 'opportunity' && (audit.score ?? 1) < 0.9)
				.map((audit) => `${audit.title}: ${audit.displayValue ?? ''}`);
			if (opportunities.length > 0) console.log(`Lighthouse's opportunities: ${opportunities.join('; ')}`);
		}
	}
	return runs;
}

/** Makes an account in the audited browser and waits until the app's service worker has installed. */
async function createAccount(): Promise<void> {
	const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` });
	const page = await browser.newPage();
	await page.goto(url);
	await page.locator('[data-testid="create-account"]').click();
	await page.locator('[data-testid="account-name"]').fill('Bench');
	await page.locator('[data-testid="create-submit"]').click();
	await page.locator('[data-testid="chat-list"]').wait();
	await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
	await page.close();
	await browser.disconnect();
}

let welcome: Run[];
let chats: Run[];
try {
	welcome = await audit(false);
	await createAccount();
	chats = await audit(true);
} finally {
	chrome.kill();
	await server.close();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${Math.round(value)} ms`;
const version = (await import('lighthouse/package.json', { with: { type: 'json' } })).default.version;
console.log(`\nLighthouse ${version}, mobile performance (target at least 95), ${RUNS} runs each`);
console.log('| screen | run | performance | first contentful paint | largest contentful paint | total blocking time | cumulative layout shift | speed index |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const line = (screen: string, label: string, run: Run) =>
	console.log(`| ${screen} | ${label} | ${run.score} | ${ms(run.fcp)} | ${ms(run.lcp)} | ${ms(run.tbt)} | ${run.cls.toFixed(3)} | ${ms(run.si)} |`);
for (const [screen, runs] of [
	['welcome screen (first visit)', welcome],
	['chat list (account, app installed)', chats]
] as const) {
	runs.forEach((run, i) => line(screen, String(i + 1), run));
	const keys = ['score', ...Object.keys(AUDITS)] as (keyof Run)[];
	line(screen, '**median**', Object.fromEntries(keys.map((key) => [key, median(runs.map((run) => run[key]))])) as Run);
}
