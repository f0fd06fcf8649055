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

test('a long chat opens at its newest message and scrolls back to its first, loading older months on the way', async ({ baseURL }) => {
	test.setTimeout(120_000);
	const browser = await launch();
	try {
		const laptop = await openDevice(browser, baseURL!, { clock: true });
		await laptop.page.setViewportSize({ width: 390, height: 844 });
		await createAccount(laptop.page, 'Ada', 'Laptop');
		await openSelfChat(laptop.page);
		const now = Date.now();
		const composer = laptop.page.getByTestId('composer');
		const months = 6;
		const perMonth = 20;
		for (let month = months - 1; month >= 0; month--) {
			for (let i = 0; i < perMonth; i++) {
				await laptop.page.clock.setSystemTime(now - month * 31 * DAY - (perMonth - i) * 60 * 60 * 1000);
				await composer.fill(`month ${months - month} message ${i + 1}`);
				await composer.press('Enter');
			}
		}
		await expect(laptop.page.getByTestId('message-text').last()).toHaveText(`month ${months} message ${perMonth}`);
		await laptop.page.clock.setSystemTime(now);

		// A fresh start: the chat opens with its newest months only, at its newest message.
		await laptop.page.reload();
		await expect(laptop.page.getByTestId('composer')).toBeVisible();
		const newest = laptop.page.getByTestId('message-text').getByText(`month ${months} message ${perMonth}`, { exact: true });
		await expect(newest).toBeInViewport();
		const first = laptop.page.getByTestId('message-text').getByText('month 1 message 1', { exact: true });
		await expect(first).toHaveCount(0);
		expect(await laptop.page.getByTestId('message').count()).toBeLessThan(months * perMonth);

		// Scrolling up loads each older month in turn, until the first message.
		const scroller = laptop.page.getByTestId('messages');
		await expect(async () => {
			await scroller.evaluate((element) => element.scrollTo({ top: 0 }));
			await expect(first).toBeInViewport({ timeout: 500 });
		}).toPass({ timeout: 30_000 });
		await expect(laptop.page.getByTestId('message')).toHaveCount(months * perMonth);
		await expect(laptop.page.getByTestId('show-earlier')).toHaveCount(0);
	} finally {
		await browser.close();
	}
});
