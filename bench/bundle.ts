/**
 * What it costs to open Samen, from the built app and the real server on loopback, in Chromium:
 *
 * 1. The JavaScript and CSS a screen needs before it can be used, as the server sends them (brotli,
 *    gzip, or as they are): the welcome screen of a first visit, and the chat list of a browser that
 *    holds an account. "Needed" is every script and style sheet the page asked for and received before
 *    the screen showed its controls (the welcome screen's buttons, the chat list), on a browser with an
 *    empty HTTP cache and no service worker. The bytes of each file in each encoding are asked of the
 *    server directly, so the table does not depend on what the browser advertises.
 * 2. The time from navigation to an interactive chat list on a cold start from the service worker's
 *    cache: the browser is started anew each time, with the profile that holds the account and the
 *    installed worker, as when a phone opens the installed app.
 *
 * Needs `npm run build` first (npm run bench does it). Prints tables; passes or fails nothing.
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../signaling/log';
import { startSignalingServer } from '../signaling/server';
import { CHROMIUM_ARGS } from '../tests/browser/devices';
import { percentile } from './helpers';

const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 10);
const staticDir = fileURLToPath(new URL('../build', import.meta.url));
const server = await startSignalingServer({ port: 0, host: '127.0.0.1', staticDir, log: silentLogger });
const origin = `http://localhost:${server.port}`;
const launchOptions = { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS };

/** The bytes of the body the server sends for `path` when the client accepts `encoding` (no decoding). */
function bodyBytes(path: string, encoding: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const request = httpRequest(`${origin}${path}`, { headers: { 'accept-encoding': encoding } }, (response) => {
			let bytes = 0;
			response.on('data', (chunk: Buffer) => (bytes += chunk.length));
			response.on('end', () => resolve(bytes));
			response.on('error', reject);
		});
		request.on('error', reject);
		request.end();
	});
}

/**
 * Scripts and style sheets the page received before `ready` resolved, with the browser's HTTP cache
 * off (a first visit's bytes, for every file).
 */
async function assetsBefore(page: Page, open: () => Promise<void>): Promise<string[]> {
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('Network.enable');
	await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
	const received: string[] = [];
	const listener = (request: { url(): string; resourceType(): string }) => {
		if (['script', 'stylesheet'].includes(request.resourceType()) || /\.(js|css)$/.test(request.url())) received.push(new URL(request.url()).pathname);
	};
	page.on('requestfinished', listener);
	await open();
	page.off('requestfinished', listener);
	await cdp.detach();
	return [...new Set(received)];
}

interface Row {
	screen: string;
	files: number;
	identity: number;
	gzip: number;
	br: number;
	target: number;
}

async function measure(screen: string, paths: string[], target: number): Promise<Row> {
	const sum = async (encoding: string) => (await Promise.all(paths.map((path) => bodyBytes(path, encoding)))).reduce((a, b) => a + b, 0);
	return { screen, files: paths.length, identity: await sum('identity'), gzip: await sum('gzip'), br: await sum('br'), target };
}

const rows: Row[] = [];
{
	const browser = await chromium.launch(launchOptions);
	try {
		// No service worker: its install would download everything, after the screen and beside the point.
		const context = await browser.newContext({ serviceWorkers: 'block' });
		const page = await context.newPage();
		const welcome = await assetsBefore(page, async () => {
			await page.goto(origin);
			await page.getByTestId('create-account').waitFor();
		});
		rows.push(await measure('welcome screen (first visit)', welcome, 60 * 1024));

		await page.getByTestId('create-account').click();
		await page.getByTestId('account-name').fill('Bench');
		await page.getByTestId('create-submit').click();
		await page.getByTestId('chat-list').waitFor();
		await page.close();
		const again = await context.newPage();
		const chats = await assetsBefore(again, async () => {
			await again.goto(origin);
			await again.getByTestId('chat-list').waitFor();
		});
		rows.push(await measure('chat list (account on this device)', chats, 150 * 1024));
	} finally {
		await browser.close();
	}
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1);
console.log('\nJavaScript and CSS before the screen is interactive, as the server sends it (KB = 1,024 bytes)');
console.log('| screen | files | as built | gzip | brotli | target (brotli) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) {
	console.log(`| ${row.screen} | ${row.files} | ${kb(row.identity)} | ${kb(row.gzip)} | ${kb(row.br)} | < ${kb(row.target)} ${row.br < row.target ? '(met)' : '(missed)'} |`);
}

/** Milliseconds from navigation start until the chat list is in the page, measured inside the page. */
async function chatListAfterNavigation(context: BrowserContext): Promise<number> {
	const page = context.pages()[0] ?? (await context.newPage());
	await page.goto(origin);
	await page.getByTestId('chat-list').waitFor();
	return page.evaluate(() => (window as unknown as { chatListAt: number }).chatListAt);
}

const profile = mkdtempSync(join(tmpdir(), 'samen-bench-profile-'));
const times: number[] = [];
let servedByWorker = 0;
try {
	{
		const context = await chromium.launchPersistentContext(profile, launchOptions);
		const page = context.pages()[0] ?? (await context.newPage());
		await page.goto(origin);
		await page.getByTestId('create-account').click();
		await page.getByTestId('account-name').fill('Bench');
		await page.getByTestId('create-submit').click();
		await page.getByTestId('chat-list').waitFor();
		// The worker has installed (its cache is complete) once it controls the page.
		await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
		await context.close();
	}
	for (let run = 0; run < COLD_STARTS; run++) {
		const context = await chromium.launchPersistentContext(profile, launchOptions);
		await context.addInitScript(() => {
			new MutationObserver((_, observer) => {
				if (!document.querySelector('[data-testid="chat-list"]')) return;
				(window as unknown as { chatListAt: number }).chatListAt = performance.now();
				observer.disconnect();
			}).observe(document, { childList: true, subtree: true });
		});
		const page = context.pages()[0] ?? (await context.newPage());
		let fromWorker = 0;
		page.on('response', (response) => {
			if (response.fromServiceWorker()) fromWorker++;
		});
		times.push(await chatListAfterNavigation(context));
		if (fromWorker > 0) servedByWorker++;
		await context.close();
	}
} finally {
	rmSync(profile, { recursive: true, force: true });
	await server.close();
}

times.sort((a, b) => a - b);
console.log(`\nCold start to an interactive chat list from the service worker's cache (${COLD_STARTS} browser starts, ${servedByWorker} served by the worker)`);
console.log('| median | p90 | min | max |');
console.log('| ---: | ---: | ---: | ---: |');
const ms = (value: number) => `${Math.round(value)} ms`;
console.log(`| ${ms(percentile(times, 50))} | ${ms(percentile(times, 90))} | ${ms(times[0]!)} | ${ms(times.at(-1)!)} |`);
