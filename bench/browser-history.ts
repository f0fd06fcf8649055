/**
 * History at scale in Chromium: the benchmark build of the app (`VITE_SAMEN_BENCH=1 vite build`,
 * into build-bench/), the real signaling server, real WebRTC between two browser contexts. The
 * primary generates BENCH_HISTORY_MESSAGES messages (100,000 by default) across 50 chats over 24
 * months in its own IndexedDB (src/lib/bench/seed.ts), then:
 *
 *   start → chat list        reload until every chat is listed (from navigation start)
 *   open the largest chat    from the click until its newest message is on screen, the list at its end
 *   scroll it to its first   scrolling up a screen per frame, older months loading on the way:
 *                            the time, the longest frame, frames over 50 ms
 *   heap                     JavaScript heap of the primary's page, garbage collected: with the
 *                            chat open, and after scrolling it to its first message
 *   stored / raw text        bytes in the document store against the characters written
 *   link → synced            a new device linked through the screens: from the primary's
 *                            confirmation until the new device holds the last year
 *   send → display           200 messages between the two, with that history present
 */
import { chromium, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import type { BenchHooks } from '../src/lib/bench/hooks';
import type { SeededAccount } from '../src/lib/bench/seed';
import { silentLogger } from '../signaling/log';
import { startSignalingServer } from '../signaling/server';
import { CHROMIUM_ARGS } from '../tests/browser/devices';
import { percentile } from './helpers';

const MESSAGES = Number(process.env.BENCH_HISTORY_MESSAGES ?? 100_000);
const CHATS = 50;
const MONTHS = 24;
const staticDir = fileURLToPath(new URL('../build-bench', import.meta.url));

type Hooked = { samenBench: BenchHooks };

const server = await startSignalingServer({ port: 0, host: '127.0.0.1', staticDir, log: silentLogger });
const url = `http://localhost:${server.port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, '--enable-precise-memory-info'] });
const laptop = await (await browser.newContext({ baseURL: url, permissions: ['clipboard-read', 'clipboard-write'] })).newPage();
const phone = await (await browser.newContext({ baseURL: url })).newPage();

await laptop.goto('/');
await laptop.getByTestId('create-account').click();
await laptop.getByTestId('account-name').fill('Bench');
await laptop.getByTestId('device-name').fill('Laptop');
await laptop.getByTestId('create-submit').click();
await laptop.getByTestId('chat-self').waitFor();
await laptop.waitForFunction(() => 'samenBench' in window);
const seedStarted = performance.now();
const seeded: SeededAccount = await laptop.evaluate(
	(options) => (window as unknown as Hooked).samenBench.seed(options),
	{ messages: MESSAGES, chats: CHATS, months: MONTHS }
);
const seedMs = performance.now() - seedStarted;

async function chatListAfterReload(page: Page): Promise<number> {
	await page.reload();
	await page.waitForFunction((count) => document.querySelectorAll('[data-testid="chat-list"] [data-testid^="chat-"]').length >= count, CHATS + 1, {
		polling: 'raf',
		timeout: 120_000
	});
	return page.evaluate(() => performance.now());
}
await chatListAfterReload(laptop);
// The second start is the one a user has every day: the app's files cached, the database warm.
const startMs = await chatListAfterReload(laptop);

const openMs = await laptop.evaluate(async (chatId) => {
	const started = performance.now();
	(document.querySelector(`[data-testid="chat-${chatId}"]`) as HTMLElement).click();
	// No named functions in here: tsx would wrap them in a helper the page does not have.
	// Open when the list is scrolled to its end and its last message is on screen.
	for (;;) {
		await new Promise((resolve) => requestAnimationFrame(resolve));
		const scroller = document.querySelector('[data-testid="messages"]');
		const shown = document.querySelectorAll('[data-testid="message"]');
		const last = shown[shown.length - 1]?.getBoundingClientRect();
		if (!scroller || !last) continue;
		const view = scroller.getBoundingClientRect();
		if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 1 && last.bottom <= view.bottom + 1 && last.bottom > view.top) break;
	}
	return performance.now() - started;
}, seeded.largest);

/** The page's JavaScript heap once the garbage is collected (what it holds, not what it has yet to free). */
async function heapAfterCollecting(page: Page): Promise<number> {
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('HeapProfiler.collectGarbage');
	const { usedSize } = await cdp.send('Runtime.getHeapUsage');
	await cdp.detach();
	return usedSize;
}
const heapAtOpen = await heapAfterCollecting(laptop);

const scroll = await laptop.evaluate(async () => {
	const scroller = document.querySelector('[data-testid="messages"]') as HTMLElement;
	const started = performance.now();
	let last = started;
	let longest = 0;
	let slow = 0;
	let most = 0;
	let still = 0;
	// A screen up per frame; near the top, the next older month loads and the list keeps its place.
	while (still < 30) {
		await new Promise((resolve) => requestAnimationFrame(resolve));
		const now = performance.now();
		longest = Math.max(longest, now - last);
		if (now - last > 50) slow++;
		last = now;
		most = Math.max(most, document.querySelectorAll('[data-testid="message"]').length);
		const before = scroller.scrollTop;
		scroller.scrollTop = Math.max(0, before - scroller.clientHeight);
		still = before === 0 && !document.querySelector('[data-testid="show-earlier"]') ? still + 1 : 0;
	}
	return { ms: performance.now() - started, longestFrameMs: longest, framesOver50: slow, mostInPage: most };
});
const heapAfterScroll = await heapAfterCollecting(laptop);
const storedBytes = await laptop.evaluate(() => (window as unknown as Hooked).samenBench.storedBytes());

// Link a new device through the screens.
await laptop.goto('/');
await phone.goto('/');
await phone.getByTestId('link-account').click();
await phone.getByTestId('link-qr').locator('svg').waitFor();
const link = await phone.getByTestId('link-text').inputValue();
await laptop.goto('/settings/link');
await laptop.getByTestId('paste-link').fill(link);
await laptop.getByTestId('use-link').click();
await phone.getByTestId('confirm-code').click();
const confirmedAt = performance.now();
await laptop.getByTestId('confirm-link').click();
await phone.getByText('History synced').waitFor({ timeout: 300_000 });
const linkMs = performance.now() - confirmedAt;
await phone.waitForFunction(() => 'samenBench' in window);
const onPhone = await phone.evaluate((chatIds) => (window as unknown as Hooked).samenBench.messages(chatIds), ['self', ...seeded.chatIds]);

// Send → display in the largest chat, both devices showing it.
for (const page of [laptop, phone]) {
	await page.goto(`/chat?id=${seeded.largest}`);
	await page.getByTestId('composer').waitFor();
	await page.evaluate(() => {
		const seen: Record<string, number> = {};
		(window as unknown as { seen: typeof seen }).seen = seen;
		new MutationObserver(() => {
			for (const node of document.querySelectorAll('[data-testid="message-text"]')) {
				const text = node.textContent ?? '';
				if (text.startsWith('latency ')) seen[text] ??= performance.timeOrigin + performance.now();
			}
		}).observe(document.body, { childList: true, subtree: true, characterData: true });
	});
}
const reconnectStarted = performance.now();
for (const page of [laptop, phone]) await page.getByTestId('peers').getByText('1 other device').waitFor({ timeout: 120_000 });
const meetMs = performance.now() - reconnectStarted;
const samples: number[] = [];
for (let i = 0; i < 200; i++) {
	const [sender, receiver] = i % 2 === 0 ? [laptop, phone] : [phone, laptop];
	const text = `latency ${i}`;
	await sender.getByTestId('composer').fill(text);
	const sentAt = await sender.evaluate(() => {
		const at = performance.timeOrigin + performance.now();
		(document.querySelector('[data-testid="send"]') as HTMLButtonElement).click();
		return at;
	});
	await receiver.waitForFunction((message) => (window as unknown as { seen: Record<string, number> }).seen[message] !== undefined, text, { polling: 'raf' });
	const shownAt = await receiver.evaluate((message) => (window as unknown as { seen: Record<string, number> }).seen[message]!, text);
	samples.push(shownAt - sentAt);
}
samples.sort((a, b) => a - b);

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const rows: [string, string][] = [
	['account', `${MESSAGES.toLocaleString('en')} messages, ${CHATS} chats, ${MONTHS} months (generated in ${(seedMs / 1000).toFixed(1)} s)`],
	['start → chat list (reload, second start)', `${startMs.toFixed(0)} ms`],
	['open the largest chat at its newest messages', `${openMs.toFixed(0)} ms (${seeded.largestMessages.toLocaleString('en')} messages in it)`],
	['scroll it from its end to its first message', `${(scroll.ms / 1000).toFixed(1)} s, longest frame ${scroll.longestFrameMs.toFixed(0)} ms, ${scroll.framesOver50} frames over 50 ms (at most ${scroll.mostInPage} messages in the page)`],
	['JavaScript heap, garbage collected (primary): chat open / scrolled to its first message', `${mib(heapAtOpen)} / ${mib(heapAfterScroll)}`],
	['stored documents / raw text', `${mib(storedBytes)} / ${mib(seeded.textBytes)} (${(storedBytes / seeded.textBytes).toFixed(2)}×)`],
	['link → history synced (the last year)', `${(linkMs / 1000).toFixed(2)} s for ${onPhone.toLocaleString('en')} messages (${Math.round(onPhone / (linkMs / 1000)).toLocaleString('en')} messages/s; window ${seeded.windowMessages.toLocaleString('en')} messages, ${mib(seeded.windowBytes)} encoded)`],
	['both devices reloaded → connected again', `${(meetMs / 1000).toFixed(2)} s`],
	['send → display with that history, p50 / p99', `${percentile(samples, 50).toFixed(1)} / ${percentile(samples, 99).toFixed(1)} ms`]
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`\nHistory at scale (Chromium, real WebRTC, IndexedDB)\n${'-'.repeat(width + 50)}`);
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
await browser.close();
await server.close();
process.exit(0);
