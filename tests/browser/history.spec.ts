import { expect, test } from '@playwright/test';
import { approveByPaste, createAccount, launch, openDevice, openSelfChat, showLinkCode } from './devices';

const DAY = 24 * 60 * 60 * 1000;

test('a device linked to an account with two years of history shows exactly the last year, saying how far it has come', async ({ baseURL }) => {
	test.setTimeout(180_000);
	const browser = await launch();
	try {
		const laptop = await openDevice(browser, baseURL!, { clock: true });
		const phone = await openDevice(browser, baseURL!);
		await createAccount(laptop.page, 'Ada', 'Laptop');
		await openSelfChat(laptop.page);
		// Two messages a month for two years, written on the laptop at those times.
		const now = Date.now();
		const written: { text: string; at: number }[] = [];
		for (let month = 23; month >= 0; month--) {
			for (const day of [3, 20]) {
				const at = now - month * 30.5 * DAY - (20 - day) * DAY;
				if (at > now) continue;
				await laptop.page.clock.setSystemTime(at);
				const text = `written ${new Date(at).toISOString().slice(0, 10)}`;
				await laptop.page.getByTestId('composer').fill(text);
				await laptop.page.getByTestId('composer').press('Enter');
				written.push({ text, at });
			}
		}
		await expect(laptop.page.getByTestId('message')).toHaveCount(written.length);
		await laptop.page.clock.setSystemTime(now);
		await laptop.page.goto('/');

		// The phone keeps every text its status bar shows while history arrives.
		await phone.page.evaluate(() => {
			const seen: string[] = [];
			(window as unknown as { statusSeen: string[] }).statusSeen = seen;
			new MutationObserver(() => {
				const text = document.querySelector('[data-testid="sync"]')?.textContent;
				if (text && seen.at(-1) !== text) seen.push(text);
			}).observe(document.body, { childList: true, subtree: true, characterData: true });
		});
		const cdp = await phone.context.newCDPSession(phone.page);
		await cdp.send('Emulation.setCPUThrottlingRate', { rate: 6 });
		await approveByPaste(laptop.page, phone.page, await showLinkCode(phone.page, 'Phone'));
		await expect(phone.page.getByTestId('sync')).toHaveText('History synced', { timeout: 60_000 });
		await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });

		const statuses = await phone.page.evaluate(() => (window as unknown as { statusSeen: string[] }).statusSeen);
		expect(statuses.some((status) => /^Syncing history: \d+ of \d+ messages$/.test(status)), statuses.join(' | ')).toBe(true);

		// The chat, scrolled back to its first message: exactly the last year.
		const floor = now - 365 * DAY;
		const expected = written.filter(({ at }) => at >= floor).map(({ text }) => text);
		expect(expected.length).toBeGreaterThan(20);
		expect(expected.length).toBeLessThan(written.length);
		await phone.page.getByTestId('chat-self').click();
		await expect(phone.page.getByTestId('composer')).toBeVisible();
		const earlier = phone.page.getByTestId('show-earlier');
		while (await earlier.isVisible()) await earlier.click();
		await expect(phone.page.getByTestId('message')).toHaveCount(expected.length);
		for (const text of [expected[0]!, expected.at(-1)!]) await expect(phone.page.getByTestId('messages')).toContainText(text);
		const older = written.filter(({ at }) => at < floor).map(({ text }) => text);
		await expect(phone.page.getByTestId('messages')).not.toContainText(older.at(-1)!);
	} finally {
		await browser.close();
	}
});
