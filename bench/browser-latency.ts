/**
 * Send → display latency between two devices in Chromium (one browser context each), through the
 * built app and the real signaling server on loopback: from the moment the composer's form is
 * submitted on one device until the message's bubble is in the other device's DOM. Both pages run
 * in one browser, so `performance.timeOrigin + performance.now()` is one clock for both.
 * Needs `npm run build` first (npm run bench does it).
 */
import { chromium, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../signaling/log';
import { startSignalingServer } from '../signaling/server';
import { CHROMIUM_ARGS } from '../tests/browser/devices';
import { percentile } from './helpers';

const COUNT = Number(process.env.BENCH_MESSAGES ?? 200);
const staticDir = fileURLToPath(new URL('../build', import.meta.url));

async function device(page: Page, url: string): Promise<Page> {
	await page.goto(url);
	return page;
}

const server = await startSignalingServer({ port: 0, host: '127.0.0.1', staticDir, log: silentLogger });
const url = `http://localhost:${server.port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
const sender = await device(await (await browser.newContext()).newPage(), url);
const receiver = await device(await (await browser.newContext()).newPage(), url);

await sender.getByTestId('create-account').click();
await sender.getByTestId('account-name').fill('Bench');
await sender.getByTestId('create-submit').click();
await sender.getByTestId('chat-self').waitFor();
await receiver.getByTestId('link-account').click();
await receiver.getByTestId('link-qr').locator('svg').waitFor();
const link = await receiver.getByTestId('link-text').inputValue();
await sender.goto(`${url}/settings/link`);
await sender.getByTestId('paste-link').fill(link);
await sender.getByTestId('use-link').click();
// Both users confirm the code: the new device first, then the primary.
await receiver.getByTestId('confirm-code').click();
await sender.getByTestId('confirm-link').click();
await receiver.getByTestId('chat-self').waitFor();
for (const page of [sender, receiver]) {
	await page.goto(`${url}/chat?id=self`);
	await page.getByTestId('composer').waitFor();
}
await receiver.getByText('History synced').waitFor();

await receiver.evaluate(() => {
	const seen: Record<string, number> = {};
	(window as unknown as { seen: typeof seen }).seen = seen;
	new MutationObserver(() => {
		for (const node of document.querySelectorAll('[data-testid="message"] .text')) {
			const text = node.textContent ?? '';
			seen[text] ??= performance.timeOrigin + performance.now();
		}
	}).observe(document.body, { childList: true, subtree: true, characterData: true });
});

const samples: number[] = [];
for (let i = 0; i < COUNT; i++) {
	const text = `latency probe ${i}`;
	const sentAt = await sender.evaluate((value) => {
		const input = document.querySelector<HTMLInputElement>('[data-testid="composer"]')!;
		input.value = value;
		input.dispatchEvent(new Event('input', { bubbles: true }));
		const at = performance.timeOrigin + performance.now();
		input.form!.requestSubmit();
		return at;
	}, text);
	const seenAt = await receiver.waitForFunction((value) => (window as unknown as { seen: Record<string, number> }).seen[value] ?? 0, text);
	samples.push((await seenAt.jsonValue()) - sentAt);
}
samples.sort((a, b) => a - b);
await browser.close();
await server.close();
const rows = [
	'| benchmark (Chromium, two browser contexts) | result |',
	'| --- | --- |',
	`| send → display between two devices, p50 (${COUNT} messages) | ${percentile(samples, 50).toFixed(1)} ms |`,
	`| send → display between two devices, p90 (${COUNT} messages) | ${percentile(samples, 90).toFixed(1)} ms |`,
	`| send → display between two devices, p99 (${COUNT} messages) | ${percentile(samples, 99).toFixed(1)} ms |`
];
process.stdout.write(rows.join('\n') + '\n', () => process.exit(0));
