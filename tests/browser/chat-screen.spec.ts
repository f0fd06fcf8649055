import { expect, test, type Page } from '@playwright/test';
import { createAccount, launch, openDevice, openSelfChat } from './devices';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

/** Writes `count` numbered messages with Enter; each shows at the bottom of the list. */
async function write(page: Page, count: number): Promise<void> {
	const composer = page.getByTestId('composer');
	for (let i = 1; i <= count; i++) {
		await composer.fill(`message ${i}`);
		await composer.press('Enter');
		await expect(page.getByTestId('message-text').last()).toHaveText(`message ${i}`);
	}
}

/** The bubble of the message with this text. */
function bubble(page: Page, text: string) {
	return page.getByTestId('message').filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) });
}

test('on a phone a long chat scrolls under a fixed header and composer; the page itself never scrolls', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const { page } = await openDevice(browser, baseURL!);
		await page.setViewportSize(PHONE);
		await createAccount(page, 'Ada', 'Phone');
		await page.getByTestId('chat-self').click();
		await write(page, 40);

		const first = bubble(page, 'message 1');
		const last = bubble(page, 'message 40');
		const fixed = [
			page.getByRole('link', { name: 'Samen' }),
			page.getByTestId('status'),
			page.getByTestId('back'),
			page.getByTestId('chat-title'),
			page.getByTestId('composer'),
			page.getByTestId('send')
		];
		// The newest message is shown; the oldest is far above.
		await expect(last).toBeInViewport();
		await expect(first).not.toBeInViewport();
		for (const part of fixed) await expect(part).toBeInViewport();

		// The user scrolls up through the messages, then tries to scroll the page from the header.
		await page.getByTestId('messages').hover();
		await expect(async () => {
			await page.mouse.wheel(0, -1500);
			await expect(first).toBeInViewport({ timeout: 500 });
		}).toPass();
		await expect(last).not.toBeInViewport();
		await page.getByTestId('chat-title').hover();
		await page.mouse.wheel(0, 2000);
		for (const part of fixed) await expect(part).toBeInViewport({ ratio: 1 });
		expect(await page.evaluate(() => [window.scrollY, document.documentElement.scrollHeight <= window.innerHeight])).toEqual([0, true]);

		// Back leads to the chat list, a screen of its own on a phone.
		await page.getByTestId('back').click();
		await expect(page.getByTestId('chat-list')).toBeVisible();
		await expect(page.getByTestId('chat-pane')).toHaveCount(0);
	} finally {
		await browser.close();
	}
});

test('the composer: Shift+Enter breaks the line, Enter sends, pasted lines stay, focus returns after Send', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const { page, context } = await openDevice(browser, baseURL!);
		await page.setViewportSize(PHONE);
		await createAccount(page, 'Ada', 'Phone');
		await openSelfChat(page);
		const composer = page.getByTestId('composer');
		const oneLine = (await composer.boundingBox())!.height;

		await composer.click();
		await page.keyboard.type('first line');
		await page.keyboard.press('Shift+Enter');
		await page.keyboard.type('second line');
		await expect(composer).toHaveValue('first line\nsecond line');
		await expect(page.getByTestId('message')).toHaveCount(0);
		// The box grew to show both lines.
		expect((await composer.boundingBox())!.height).toBeGreaterThan(oneLine * 1.4);

		await page.keyboard.press('Enter');
		await expect(page.getByTestId('message')).toHaveCount(1);
		expect(await page.getByTestId('message-text').first().evaluate((el) => (el as HTMLElement).innerText)).toBe('first line\nsecond line');
		await expect(composer).toHaveValue('');
		await expect(composer).toBeFocused();
		expect((await composer.boundingBox())!.height).toBe(oneLine);

		// Text pasted with line breaks keeps them; sending by a click leaves the focus in the box.
		await context.grantPermissions(['clipboard-read', 'clipboard-write']);
		await page.evaluate(() => navigator.clipboard.writeText('pasted one\npasted two\npasted three'));
		await composer.focus();
		await page.keyboard.press('ControlOrMeta+V');
		await expect(composer).toHaveValue('pasted one\npasted two\npasted three');
		await page.getByTestId('send').click();
		await expect(page.getByTestId('message')).toHaveCount(2);
		expect(await page.getByTestId('message-text').last().evaluate((el) => (el as HTMLElement).innerText)).toBe('pasted one\npasted two\npasted three');
		await expect(composer).toBeFocused();
		await expect(composer).toHaveValue('');
	} finally {
		await browser.close();
	}
});

test('on a wide screen the chat list stands beside the open chat; on a phone they are separate screens', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const { page } = await openDevice(browser, baseURL!);
		await page.setViewportSize(DESKTOP);
		await createAccount(page, 'Ada', 'Laptop');
		await expect(page.getByTestId('chat-pane')).toHaveText('Choose a chat to read it here.');

		// Opening a chat draws the chat only: the list beside it stays as it was (where it was scrolled).
		await page.getByTestId('list-pane').evaluate((pane) => (pane.dataset.drawnBefore = 'yes'));
		await page.getByTestId('chat-self').click();
		await expect(page).toHaveURL(/\/chat\?id=self$/);
		await expect(page.getByTestId('list-pane')).toHaveAttribute('data-drawn-before', 'yes');
		await expect(page.getByTestId('chat-self')).toHaveAttribute('aria-current', 'page');
		await page.getByTestId('composer').fill('side by side');
		await page.getByTestId('composer').press('Enter');
		await expect(page.getByTestId('chat-self')).toContainText('side by side');
		const list = (await page.getByTestId('list-pane').boundingBox())!;
		const chat = (await page.getByTestId('chat-pane').boundingBox())!;
		expect(list.x + list.width).toBeLessThanOrEqual(chat.x + 1);
		expect(chat.width).toBeGreaterThan(list.width);
		await expect(page.getByTestId('back')).toHaveCount(0);
		await expect(page.getByTestId('messages')).toBeInViewport();

		// The same window made narrow: one screen at a time, with Back.
		await page.setViewportSize(PHONE);
		await expect(page.getByTestId('list-pane')).toHaveCount(0);
		await expect(page.getByTestId('messages')).toContainText('side by side');
		await page.getByTestId('back').click();
		await expect(page.getByTestId('chat-self')).toBeVisible();
		await expect(page.getByTestId('chat-pane')).toHaveCount(0);
	} finally {
		await browser.close();
	}
});

test('messages sit under day separators, with times in the chosen language', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const context = await browser.newContext({ baseURL, timezoneId: 'Europe/Amsterdam' });
		const page = await context.newPage();
		await page.clock.install({ time: new Date('2026-11-23T09:00:00+01:00') });
		await page.goto('/');
		await createAccount(page, 'Ada', 'Laptop');
		await openSelfChat(page);
		const composer = page.getByTestId('composer');
		const writeAt = async (time: string, text: string) => {
			await page.clock.setSystemTime(new Date(time));
			await composer.fill(text);
			await composer.press('Enter');
			await expect(page.getByTestId('messages')).toContainText(text);
		};
		await writeAt('2026-11-23T09:15:00+01:00', 'on monday');
		await writeAt('2026-11-24T21:05:00+01:00', 'on tuesday evening');
		await writeAt('2026-11-25T10:00:00+01:00', 'on wednesday');
		// Labels are made when the chat is drawn: leave it and come back.
		await page.goto('/settings');
		await openSelfChat(page);
		await expect(page.getByTestId('day')).toHaveText(['Monday', 'Yesterday', 'Today']);
		const tuesday = page.getByTestId('message').filter({ hasText: 'on tuesday evening' });
		await expect(tuesday.locator('time')).toHaveText('9:05 PM');

		// A week later the days are dates; in Dutch, with a 24-hour clock.
		await page.clock.setSystemTime(new Date('2026-12-03T12:00:00+01:00'));
		await page.goto('/settings');
		await openSelfChat(page);
		await expect(page.getByTestId('day')).toHaveText(['November 23', 'November 24', 'November 25']);
		await page.goto('/settings');
		await page.getByTestId('language').selectOption('nl');
		await openSelfChat(page);
		await expect(page.getByTestId('day')).toHaveText(['23 november', '24 november', '25 november']);
		await expect(tuesday.locator('time')).toHaveText('21:05');
		await expect(tuesday.locator('time')).toHaveAttribute('title', /24 nov 2026/);
	} finally {
		await browser.close();
	}
});

test('on a touch screen, whose keyboard has no Shift+Enter, Enter breaks the line and Send sends', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const context = await browser.newContext({ baseURL, viewport: PHONE, hasTouch: true, isMobile: true });
		const page = await context.newPage();
		await page.goto('/');
		expect(await page.evaluate(() => matchMedia('(pointer: coarse)').matches)).toBe(true);
		await createAccount(page, 'Ada', 'Phone');
		await openSelfChat(page);
		const composer = page.getByTestId('composer');
		await composer.tap();
		await page.keyboard.type('milk');
		await page.keyboard.press('Enter');
		await page.keyboard.type('eggs');
		await expect(composer).toHaveValue('milk\neggs');
		await expect(page.getByTestId('message')).toHaveCount(0);
		await page.getByTestId('send').tap();
		await expect(page.getByTestId('message')).toHaveCount(1);
		expect(await page.getByTestId('message-text').evaluate((el) => (el as HTMLElement).innerText)).toBe('milk\neggs');
		await expect(composer).toBeFocused();
	} finally {
		await browser.close();
	}
});
