import { expect, test } from '@playwright/test';
import {
	approveByCamera,
	approveByPaste,
	cameraFile,
	createAccount,
	launch,
	launchWithCamera,
	linkedDevices,
	openDevice,
	openSelfChat,
	send,
	showLinkCode,
	type TestDevice
} from './devices';

const ANDROID_PHONE =
	'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';
const TIME = /\d{1,2}:\d{2}/;

test('four devices link, one by camera; the others hear of each new one; a fifth is refused on both screens', async ({ baseURL }) => {
	test.setTimeout(180_000);
	const browser = await launch();
	const first = await openDevice(browser, baseURL!);
	await showLinkCode(first.page, 'Pixel');
	const camera = cameraFile(await first.page.getByTestId('link-qr').screenshot());
	const primaryBrowser = await launchWithCamera(camera);
	try {
		const primary = await openDevice(primaryBrowser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		await approveByCamera(primary.page, first.page);
		await expect(first.page.getByTestId('notice-banner')).toHaveCount(0);

		// An Android phone keeps the name and kind its browser suggests.
		const second = await openDevice(browser, baseURL!, { userAgent: ANDROID_PHONE });
		const secondLink = await showLinkCode(second.page);
		await expect(second.page.getByTestId('device-name')).toHaveValue('Chrome on Android');
		await approveByPaste(primary.page, second.page, secondLink);
		await expect(first.page.getByTestId('notice-banner')).toHaveText([new RegExp(`^New device linked: Chrome on Android, .*${TIME.source}`)]);
		// The primary linked it itself: it has nothing to be told.
		await primary.page.goto('/');
		await expect(primary.page.getByTestId('chat-self')).toBeVisible();
		await expect(primary.page.getByTestId('notice-banner')).toHaveCount(0);

		// Two devices that suggest the same name get distinct ones from the primary.
		const third = await openDevice(browser, baseURL!);
		await approveByPaste(primary.page, third.page, await showLinkCode(third.page));
		const fourth = await openDevice(browser, baseURL!);
		await approveByPaste(primary.page, fourth.page, await showLinkCode(fourth.page));
		await expect(second.page.getByTestId('notice-banner')).toHaveText([/Chrome on Linux,/, /Chrome on Linux 2,/]);
		await expect(first.page.getByTestId('notice-banner')).toHaveText([/Chrome on Android,/, /Chrome on Linux,/, /Chrome on Linux 2,/]);

		// Opening the device list shows the notices once; afterwards they are gone from the chat list.
		await first.page.getByTestId('notice-banner').first().getByRole('link').click();
		await expect(first.page.getByTestId('device-notice')).toHaveText([/Chrome on Android/, /Chrome on Linux,/, /Chrome on Linux 2,/]);
		await expect(first.page.getByTestId('device-name')).toHaveText(['Laptop', 'Pixel', 'Chrome on Android', 'Chrome on Linux', 'Chrome on Linux 2']);
		await expect(first.page.getByTestId('device-kind')).toHaveText(['Computer', 'Computer', 'Phone', 'Computer', 'Computer']);
		await expect(first.page.getByTestId('device-role')).toHaveText(['primary', 'linked', 'linked', 'linked', 'linked']);
		await expect(first.page.getByTestId('device').filter({ has: first.page.getByTestId('this-device') })).toContainText('Pixel');
		await expect(first.page.getByTestId('device-linked-at').first()).toHaveText(new RegExp(`^Linked .*${TIME.source}`));
		await expect(first.page.getByTestId('remove-device')).toHaveCount(0);
		await expect(first.page.getByTestId('log-out-self')).toBeVisible();
		await first.page.getByRole('link', { name: 'Samen' }).click();
		await expect(first.page.getByTestId('chat-self')).toBeVisible();
		await expect(first.page.getByTestId('notice-banner')).toHaveCount(0);

		// Full: the primary offers no link, and says why.
		await primary.page.getByTestId('open-settings').click();
		await expect(primary.page.getByTestId('remove-device')).toHaveCount(4);
		await expect(primary.page.getByTestId('link-device')).toBeDisabled();
		await expect(primary.page.getByTestId('devices-full')).toHaveText(
			'This account has 4 linked devices, the most it can have. Log out a device first to link another.'
		);

		// A fifth device's code, pasted anyway: both screens say to log out a device first.
		const fifth = await openDevice(browser, baseURL!);
		const fifthLink = await showLinkCode(fifth.page, 'Fifth');
		await primary.page.goto('/settings/link');
		await expect(primary.page.getByTestId('devices-full')).toBeVisible();
		await primary.page.getByTestId('paste-link').fill(fifthLink);
		await primary.page.getByTestId('use-link').click();
		await expect(primary.page.getByTestId('link-error')).toHaveText(
			'This account already has 4 linked devices. Log out one of them first (Settings → Linked devices).'
		);
		await expect(fifth.page.getByTestId('link-error')).toHaveText(
			'This account already has 4 linked devices. Log out one of them on the primary device first.'
		);
		await expect(fifth.page.getByTestId('link-code')).toHaveCount(0);
		await primary.page.goto('/settings');
		await expect(primary.page.getByTestId('device-name')).toHaveText(['Laptop', 'Pixel', 'Chrome on Android', 'Chrome on Linux', 'Chrome on Linux 2']);
	} finally {
		await primaryBrowser.close();
		await browser.close();
	}
});

test('any device renames any device; the names show in the list and on message bubbles', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const [primary, phone] = (await linkedDevices(browser, baseURL!, ['Phone'])) as [TestDevice, TestDevice];
		await primary.page.goto('/chat?id=self');
		await primary.page.getByTestId('composer').fill('from the laptop');
		await primary.page.getByTestId('send').click();
		// Once two devices wrote in the chat, each bubble that starts a device's run names the device.
		await openSelfChat(phone.page);
		await send(phone.page, 'from the phone');
		await expect(primary.page.getByTestId('messages')).toContainText('from the phone');

		await phone.page.getByTestId('open-settings').click();
		const laptopRow = phone.page.getByTestId('device').filter({ hasText: 'Laptop' });
		await laptopRow.getByTestId('rename').click();
		// Two devices of one account never share a name.
		await phone.page.getByTestId('rename-input').fill('phone ');
		await phone.page.getByTestId('rename-save').click();
		await expect(phone.page.getByTestId('rename-error')).toHaveText('Another device is already called “phone”. Choose a name that tells them apart.');
		await phone.page.getByTestId('rename-input').fill('Work laptop');
		await phone.page.getByTestId('rename-save').click();
		await expect(phone.page.getByTestId('device-name')).toHaveText(['Work laptop', 'Phone']);

		await expect(primary.page.getByTestId('message').first()).toContainText('from Work laptop');
		await primary.page.getByTestId('open-settings').click();
		await expect(primary.page.getByTestId('device-name')).toHaveText(['Work laptop', 'Phone']);
		await expect(primary.page.getByTestId('device-last-active')).toHaveText([/^Last active /, /^Last active /]);
	} finally {
		await browser.close();
	}
});
