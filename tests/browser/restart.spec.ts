/**
 * The signaling server restarting (a deploy, a crash) while devices depend on it: a link under way
 * and a history sync under way. A server of this file's own, on its own port, so it can be stopped
 * and started again on the same address.
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { createAccount, launch, openDevice, openSelfChat, pasteLink, showLinkCode } from './devices';
import { readWholeChat } from './reading';

const PORT = Number(process.env.SAMEN_TEST_PORT ?? 4391) + 3;
const baseURL = `http://localhost:${PORT}`;
const staticDir = fileURLToPath(new URL('../../build', import.meta.url));

const start = () => startSignalingServer({ port: PORT, host: '0.0.0.0', staticDir, log: silentLogger });

/** Stops the server (devices hear 1012, "restarting") and starts it again on the same port. */
async function restart(server: SignalingServer): Promise<SignalingServer> {
	await server.close();
	return start();
}

/**
 * Clicks `confirm` unless the link has already failed on that side (`failed` shows instead); a button
 * that goes away between seeing it and clicking it is the same failure, which the caller then checks.
 */
async function confirmUnlessFailed(confirm: Locator, failed: Locator): Promise<void> {
	await expect(confirm.or(failed)).toBeVisible();
	if (await failed.isVisible()) return;
	await confirm.click({ timeout: 5_000 }).catch(async (error: unknown) => {
		if (!(await failed.isVisible())) throw error;
	});
}

/** Writes `count` messages of `length` characters on the page's open chat, numbered from `first`. */
async function writeMessages(page: Page, count: number, length: number, first = 0): Promise<void> {
	const composer = page.getByTestId('composer');
	for (let i = first; i < first + count; i++) {
		await composer.fill(`${String(i).padStart(4, '0')} ${'h'.repeat(length - 5)}`);
		await composer.press('Enter');
	}
	await expect(page.getByTestId('message-text').last()).toHaveText(new RegExp(`^${String(first + count - 1).padStart(4, '0')} `));
}

/** The test's handle on a page whose data channels can be made to stall, like a congested link. */
interface StalledLink {
	/** From now on, data-channel messages after the first `bytes` wait instead of leaving. */
	stallAfter(bytes: number): void;
	/** How many messages are waiting. */
	held(): number;
	/** Sends the waiting messages, in order, and stops holding. */
	release(): void;
}

/** About one month's document of the history below (25 messages of 9,000 characters) gets through. */
const STALL_AFTER_BYTES = 300_000;

/** Runs in the page before the app: wraps RTCDataChannel.send so the test can hold its traffic. */
function stallableDataChannels(): void {
	const send = RTCDataChannel.prototype.send as (this: RTCDataChannel, data: unknown) => void;
	let allowance = Infinity;
	let stalled: Array<{ channel: RTCDataChannel; data: unknown }> = [];
	const size = (data: unknown): number =>
		typeof data === 'string' ? data.length : data instanceof Blob ? data.size : (data as ArrayBufferLike | ArrayBufferView).byteLength;
	RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: unknown) {
		if (stalled.length > 0 || allowance < size(data)) stalled.push({ channel: this, data });
		else {
			allowance -= size(data);
			send.call(this, data);
		}
	} as RTCDataChannel['send'];
	const link: StalledLink = {
		stallAfter: (bytes) => void (allowance = bytes),
		held: () => stalled.length,
		release: () => {
			allowance = Infinity;
			const waiting = stalled;
			stalled = [];
			// A channel the restart closed drops its messages, as a real one would; the sync then resumes on a new one.
			for (const { channel, data } of waiting) if (channel.readyState === 'open') send.call(channel, data);
		}
	};
	Object.assign(window, link);
}

test.describe('the server restarting', () => {
	let server: SignalingServer;
	test.beforeEach(async () => {
		server = await start();
	});
	test.afterEach(async () => {
		await server.close();
	});

	test('while a device is being linked: the link completes, or fails saying so and works when tried again at once', async () => {
		const browser = await launch();
		try {
			const laptop = await openDevice(browser, baseURL);
			const phone = await openDevice(browser, baseURL);
			await createAccount(laptop.page, 'Ada', 'Laptop');
			await pasteLink(laptop.page, await showLinkCode(phone.page, 'Phone'));
			await expect(laptop.page.getByTestId('link-code')).toHaveText(/^\d{3} \d{3}$/);
			await expect(phone.page.getByTestId('link-code')).toHaveText((await laptop.page.getByTestId('link-code').textContent())!);

			server = await restart(server);
			// The restart may end the link before either user confirms: each side confirms if it still asks to.
			const linked = phone.page.getByTestId('chat-self');
			const failed = phone.page.getByTestId('link-error');
			const laptopFailed = laptop.page.getByTestId('link-error');
			await confirmUnlessFailed(phone.page.getByTestId('confirm-code'), failed);
			await confirmUnlessFailed(laptop.page.getByTestId('confirm-link'), laptopFailed);

			// The third way: the new device got the account, but the primary never heard back and took
			// it off again; the new device says its link did not finish.
			const unfinished = phone.page.getByTestId('logged-out-reason').filter({ hasText: 'Linking this device did not finish' });
			await expect(linked.or(failed).or(unfinished)).toBeVisible({ timeout: 30_000 });
			const outcome = (await failed.isVisible()) ? 'failed' : (await unfinished.isVisible()) ? 'unfinished' : 'completed';
			test.info().annotations.push({ type: 'link across the restart', description: outcome === 'completed' ? 'completed' : `${outcome}, then retried` });
			if (outcome !== 'completed') {
				// Whatever it says, it says it on both sides, in words, and a new attempt goes through.
				await expect(laptopFailed).not.toBeEmpty();
				if (outcome === 'failed') {
					await expect(failed).not.toBeEmpty();
					await phone.page.getByTestId('link-again').click();
				} else {
					await phone.page.getByTestId('start-over').click();
					await showLinkCode(phone.page, 'Phone');
				}
				await expect(phone.page.getByTestId('link-qr').locator('svg')).toBeVisible();
				await pasteLink(laptop.page, await phone.page.getByTestId('link-text').inputValue());
				await expect(laptop.page.getByTestId('link-code')).toHaveText(/^\d{3} \d{3}$/);
				await phone.page.getByTestId('confirm-code').click();
				await laptop.page.getByTestId('confirm-link').click();
				await expect(linked).toBeVisible();
			}
			await expect(laptop.page.getByTestId('link-done')).toBeVisible();
			await openSelfChat(phone.page);
			await expect(phone.page.getByTestId('sync')).toHaveText('History synced', { timeout: 30_000 });
		} finally {
			await browser.close();
		}
	});

	test('during a history sync: the new device still receives the whole history, and says so', async () => {
		const browser = await launch();
		try {
			const laptop = await openDevice(browser, baseURL, { clock: true });
			await laptop.context.addInitScript(stallableDataChannels);
			const phone = await openDevice(browser, baseURL);
			await createAccount(laptop.page, 'Ada', 'Laptop');
			await openSelfChat(laptop.page);
			// Four months of history: four documents, which arrive one after another.
			const now = Date.now();
			for (let month = 3; month >= 0; month--) {
				await laptop.page.clock.setSystemTime(now - month * 31 * 24 * 60 * 60 * 1000);
				await writeMessages(laptop.page, 25, 9_000, (3 - month) * 25);
			}
			await laptop.page.clock.setSystemTime(now);
			await laptop.page.goto('/');

			// The laptop's connection stalls once part of the history is through: the rest waits
			// until the test lets it go, so the restart falls inside the sync on every run.
			await laptop.page.evaluate((bytes) => (window as unknown as StalledLink).stallAfter(bytes), STALL_AFTER_BYTES);
			await pasteLink(laptop.page, await showLinkCode(phone.page, 'Phone'));
			await expect(laptop.page.getByTestId('link-code')).toHaveText(/^\d{3} \d{3}$/);
			await phone.page.getByTestId('confirm-code').click();
			await laptop.page.getByTestId('confirm-link').click();
			await expect(phone.page.getByTestId('chat-self')).toBeVisible();
			await openSelfChat(phone.page);
			// Part of the history is there, the rest on its way, as the server goes away and comes back.
			// Newest first: the month that got through is the newest.
			await expect(phone.page.getByTestId('message-text').last()).toHaveText(/^0099 /, { timeout: 30_000 });
			// The phone shows what came; the rest is held (a stalled link may also be given up on: then the phone says it is alone).
			await expect(phone.page.getByTestId('status')).not.toContainText('History synced');
			expect(await laptop.page.evaluate(() => (window as unknown as StalledLink).held())).toBeGreaterThan(0);
			server = await restart(server);
			await laptop.page.evaluate(() => (window as unknown as StalledLink).release());

			await expect(phone.page.getByTestId('sync')).toHaveText('History synced', { timeout: 60_000 });
			const written = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(4, '0')} ${'h'.repeat(9_000 - 5)}`);
			expect(await readWholeChat(phone.page)).toEqual(written);
			await expect(phone.page.getByTestId('peers')).toHaveText('1 other device connected', { timeout: 30_000 });
		} finally {
			await browser.close();
		}
	});
});
