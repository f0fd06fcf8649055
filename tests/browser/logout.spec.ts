import { expect, test } from '@playwright/test';
import {
	approveByPaste,
	createAccount,
	expectLoggedOut,
	launch,
	linkedDevices,
	openDevice,
	openSelfChat,
	removeDevice,
	send,
	showLinkCode,
	type TestDevice
} from './devices';

const REMOVED = 'Your primary device logged this device out.';
const DAY = 24 * 60 * 60 * 1000;

test('the primary logs out a device that is online; later it deletes the account', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const [primary, phone, tablet] = (await linkedDevices(browser, baseURL!, ['Phone', 'Tablet'])) as [TestDevice, TestDevice, TestDevice];
		await openSelfChat(phone.page);
		await expect(phone.page.getByTestId('peers')).toHaveText('2 other devices connected');

		await removeDevice(primary.page, 'Phone');
		await expectLoggedOut(phone.page, REMOVED);
		await expect(primary.page.getByTestId('device-name')).toHaveText(['Laptop', 'Tablet']);

		// The two that remain move to new keys and still talk.
		await openSelfChat(primary.page);
		await openSelfChat(tablet.page);
		await send(primary.page, 'after the phone was logged out');
		await expect(tablet.page.getByTestId('messages')).toContainText('after the phone was logged out');

		await phone.page.getByTestId('start-over').click();
		await expect(phone.page.getByTestId('create-account')).toBeVisible();

		await primary.page.getByTestId('open-settings').click();
		await primary.page.getByTestId('delete-account').click();
		await expect(primary.page.getByRole('alertdialog')).toContainText('Delete the account? Every device is logged out');
		await primary.page.getByTestId('confirm-leave').click();
		// Every device learns the account is gone, from the primary's last signed list.
		await expectLoggedOut(tablet.page, 'The account was deleted.');
		await expectLoggedOut(primary.page, 'The account was deleted.');
	} finally {
		await browser.close();
	}
});

test('a device logged out while it is closed wipes itself when it opens, showing nothing written after; a companion logs itself out', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const [primary, phone, tablet] = (await linkedDevices(browser, baseURL!, ['Phone', 'Tablet'])) as [TestDevice, TestDevice, TestDevice];
		await openSelfChat(phone.page);
		await send(phone.page, 'written before the phone was closed');
		await expect(phone.page.getByTestId('sync')).toHaveText('History synced');
		// The phone's page closes; its browser context keeps its storage, as a closed app does.
		await phone.page.close();

		await removeDevice(primary.page, 'Phone');
		await openSelfChat(primary.page);
		const secret = 'written after the phone was logged out';
		await send(primary.page, secret);
		await openSelfChat(tablet.page);
		await expect(tablet.page.getByTestId('messages')).toContainText(secret);

		// Whatever the phone's screen shows from the first moment on, it must never show the new message.
		await phone.context.addInitScript((text) => {
			const seen = () => {
				if (document.documentElement?.textContent?.includes(text)) (window as unknown as { sawSecret: boolean }).sawSecret = true;
			};
			new MutationObserver(seen).observe(document, { subtree: true, childList: true, characterData: true });
		}, secret);
		const reopened = await phone.context.newPage();
		await reopened.goto('/chat?id=self');
		await expectLoggedOut(reopened, REMOVED);
		expect(await reopened.evaluate(() => (window as unknown as { sawSecret?: boolean }).sawSecret ?? false)).toBe(false);

		await tablet.page.getByTestId('open-settings').click();
		await expect(tablet.page.getByTestId('delete-account')).toHaveCount(0);
		await tablet.page.getByTestId('log-out-self').click();
		await expect(tablet.page.getByRole('alertdialog')).toContainText('Log out this device?');
		await tablet.page.getByTestId('confirm-leave').click();
		await expectLoggedOut(tablet.page, 'You logged out this device.');
		// Its signed note reached the primary, which took it off the list: the slot is free again.
		await primary.page.getByTestId('open-settings').click();
		await expect(primary.page.getByTestId('device-name')).toHaveText(['Laptop']);
	} finally {
		await browser.close();
	}
});

test('a companion that has not heard from its primary warns from day 12 and logs itself out after 14 days', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const companion = await openDevice(browser, baseURL!, { clock: true });
		await createAccount(primary.page, 'Ada', 'Laptop');
		await approveByPaste(primary.page, companion.page, await showLinkCode(companion.page, 'Phone'));
		await expect(companion.page.getByTestId('absence-warning')).toHaveCount(0);
		await primary.context.close();
		await expect(companion.page.getByTestId('peers')).toHaveText('No other device connected');

		await companion.page.clock.fastForward(12 * DAY + 60 * 60 * 1000);
		const warning = 'Open Samen on your primary device within 2 days to stay logged in.';
		await expect(companion.page.getByTestId('absence-warning')).toHaveText(warning);
		// On every screen.
		await companion.page.getByTestId('chat-self').click();
		await expect(companion.page.getByTestId('composer')).toBeVisible();
		await expect(companion.page.getByTestId('absence-warning')).toHaveText(warning);
		await companion.page.getByTestId('open-settings').click();
		await expect(companion.page.getByTestId('absence-warning')).toHaveText(warning);

		await companion.page.clock.fastForward(DAY);
		await expect(companion.page.getByTestId('absence-warning')).toHaveText('Open Samen on your primary device within 1 day to stay logged in.');
		await companion.page.clock.fastForward(DAY);
		await expectLoggedOut(companion.page, 'Samen was not opened on your primary device for 14 days, so this device logged itself out.');
	} finally {
		await browser.close();
	}
});
