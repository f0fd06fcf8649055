/**
 * What draws the user back: the unread count in the tab title and on the app badge, and a
 * notification for a message that arrives while Samen is hidden. The page's visibility and the
 * browser's Notification and badge APIs are observed through an init script.
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { launch, linkedDevices, openSelfChat, send, type TestDevice } from './devices';

interface Recorded {
	badges: number[];
	notifications: { title: string; body: string }[];
	permissionRequests: number;
}

/**
 * Records badge and notification calls, and lets the test hide the page (`__setHidden`). A context
 * made with a list of permissions (as `openDevice` makes them, for the clipboard) reports every
 * other one as "denied"; the recorder plays a browser whose user was not asked yet ("default")
 * until the page asks, and then gives the context's real answer.
 */
async function observe(context: BrowserContext): Promise<void> {
	await context.addInitScript(() => {
		const seen = { badges: [] as number[], notifications: [] as { title: string; body: string }[], permissionRequests: 0 };
		const shown: Notification[] = [];
		Object.assign(window, { __seen: seen, __shown: shown });
		navigator.setAppBadge = (count?: number) => (seen.badges.push(count ?? 0), Promise.resolve());
		navigator.clearAppBadge = () => (seen.badges.push(0), Promise.resolve());
		const Real = window.Notification;
		let asked = false;
		class RecordedNotification extends Real {
			constructor(title: string, options?: NotificationOptions) {
				super(title, options);
				seen.notifications.push({ title, body: options?.body ?? '' });
				shown.push(this);
			}
			static override get permission() {
				return asked ? Real.permission : 'default';
			}
			static override requestPermission() {
				asked = true;
				seen.permissionRequests++;
				return Real.requestPermission();
			}
		}
		window.Notification = RecordedNotification;
		let hidden = false;
		Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
		Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
		Object.assign(window, {
			__setHidden(value: boolean) {
				hidden = value;
				document.dispatchEvent(new Event('visibilitychange'));
			}
		});
	});
}

function seen(page: Page): Promise<Recorded> {
	return page.evaluate(() => (window as unknown as { __seen: Recorded }).__seen);
}

function setHidden(page: Page, hidden: boolean): Promise<void> {
	return page.evaluate((value) => (window as unknown as { __setHidden(hidden: boolean): void }).__setHidden(value), hidden);
}

test('unread messages show in the tab title and on the app badge until the chat is read', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const [primary, phone] = (await linkedDevices(browser, baseURL!, ['Phone'])) as [TestDevice, TestDevice];
		await observe(phone.context);
		await phone.page.goto('/');
		await expect(phone.page).toHaveTitle('Samen');

		await openSelfChat(primary.page);
		for (const text of ['one', 'two', 'three']) await send(primary.page, text);
		await expect(phone.page.getByTestId('chat-self')).toContainText('3 unread');
		await expect(phone.page).toHaveTitle('(3) Samen');
		expect((await seen(phone.page)).badges.at(-1)).toBe(3);
		// The writer has nothing unread.
		await expect(primary.page).toHaveTitle('Samen');

		await phone.page.getByTestId('chat-self').click();
		await expect(phone.page.getByTestId('messages')).toContainText('three');
		await expect(phone.page).toHaveTitle('Samen');
		await expect.poll(async () => (await seen(phone.page)).badges.at(-1)).toBe(0);
		// Read on one device is read on all.
		await expect(primary.page.getByTestId('chat-self')).not.toContainText('unread');
	} finally {
		await browser.close();
	}
});

test('a message that arrives while Samen is hidden makes a notification; permission is asked only from Settings', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const [primary, phone] = (await linkedDevices(browser, baseURL!, ['Phone'])) as [TestDevice, TestDevice];
		await observe(phone.context);
		await phone.page.goto('/');
		await openSelfChat(primary.page);
		await send(primary.page, 'before permission');
		await expect(phone.page.getByTestId('chat-self')).toContainText('before permission');

		// Nothing asked on load; Settings offers the switch.
		await phone.page.getByTestId('open-settings').click();
		await expect(phone.page.getByTestId('notify-enable')).toHaveText('Turn on notifications');
		expect((await seen(phone.page)).permissionRequests).toBe(0);
		// The user allows notifications when the browser asks.
		await phone.context.grantPermissions(['notifications'], { origin: baseURL });
		await phone.page.getByTestId('notify-enable').click();
		await expect(phone.page.getByTestId('notify-state')).toHaveText('Notifications are on for this device.');
		expect((await seen(phone.page)).permissionRequests).toBe(1);

		// Visible: no notification. Hidden: one, with the chat's name and the message.
		// From here on the phone moves by its links: a page load would start the recording afresh.
		await phone.page.getByRole('link', { name: 'Samen' }).click();
		await expect(phone.page.getByTestId('chat-self')).toBeVisible();
		await send(primary.page, 'while you look');
		await expect(phone.page.getByTestId('chat-self')).toContainText('while you look');
		await setHidden(phone.page, true);
		await send(primary.page, 'while you are away');
		await expect.poll(async () => (await seen(phone.page)).notifications).toEqual([{ title: 'Message yourself', body: 'while you are away' }]);
		await expect(phone.page).toHaveTitle('(3) Samen');

		// An open chat in a hidden tab does not count as read: the message stays unread and notifies.
		await setHidden(phone.page, false);
		await phone.page.getByTestId('chat-self').click();
		await expect(phone.page.getByTestId('messages')).toContainText('while you are away');
		await expect(phone.page).toHaveTitle('Samen');
		await setHidden(phone.page, true);
		await send(primary.page, 'to the open chat');
		await expect.poll(async () => (await seen(phone.page)).notifications.length).toBe(2);
		expect((await seen(phone.page)).notifications[1]).toEqual({ title: 'Message yourself', body: 'to the open chat' });
		await expect(phone.page).toHaveTitle('(1) Samen');
		await setHidden(phone.page, false);
		await expect(phone.page).toHaveTitle('Samen');

		// Clicking a notification opens its chat.
		await phone.page.getByTestId('open-settings').click();
		await expect(phone.page.getByTestId('notify-state')).toBeVisible();
		await setHidden(phone.page, true);
		await send(primary.page, 'click me');
		await expect.poll(async () => (await seen(phone.page)).notifications.length).toBe(3);
		await setHidden(phone.page, false);
		await phone.page.evaluate(() => {
			const shown = (window as unknown as { __shown: Notification[] }).__shown;
			shown.at(-1)!.onclick?.(new Event('click'));
		});
		await expect(phone.page).toHaveURL(/\/chat\?id=self$/);
		await expect(phone.page.getByTestId('messages')).toContainText('click me');
	} finally {
		await browser.close();
	}
});
