import { expect, test } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	approveByPaste,
	confirmCodes,
	createAccount,
	launch,
	launchWithCamera,
	openDevice,
	openSelfChat,
	send,
	showLinkCode
} from './devices';
import { pngToY4m } from './y4m';

test('link by camera: the primary scans the QR the new device shows', async ({ baseURL }) => {
	const newBrowser = await launch();
	const fresh = await openDevice(newBrowser, baseURL!);
	await showLinkCode(fresh.page, 'Pixel');
	const screenshot = await fresh.page.getByTestId('link-qr').screenshot();
	const camera = join(mkdtempSync(join(tmpdir(), 'samen-camera-')), 'qr.y4m');
	writeFileSync(camera, pngToY4m(screenshot));

	const primaryBrowser = await launchWithCamera(camera);
	try {
		const primary = await openDevice(primaryBrowser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		await openSelfChat(primary.page);
		await send(primary.page, 'written before linking');
		await primary.page.getByTestId('open-settings').click();
		await primary.page.getByTestId('link-device').click();
		// Nothing is pasted: the only way to the codes is the camera reading the QR.
		await confirmCodes(primary.page, fresh.page);

		await expect(fresh.page.getByTestId('sync')).toHaveText('History synced');
		await openSelfChat(fresh.page);
		await expect(fresh.page.getByTestId('messages')).toContainText('written before linking');
		await fresh.page.goto('/settings');
		await expect(fresh.page.getByTestId('device')).toHaveText([/Laptop/, /Pixel/]);
	} finally {
		await primaryBrowser.close();
		await newBrowser.close();
	}
});

test('link by pasted link, messages both ways, and both survive a reload', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const phone = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		const link = await showLinkCode(phone.page, 'Phone');
		expect(link).toMatch(/\/settings\/link#samen1\./);
		await approveByPaste(primary.page, phone.page, link);

		await openSelfChat(primary.page);
		await openSelfChat(phone.page);
		await send(primary.page, 'hello from the laptop');
		await expect(phone.page.getByTestId('messages')).toContainText('hello from the laptop');
		await send(phone.page, 'hello from the phone');
		await expect(primary.page.getByTestId('messages')).toContainText('hello from the phone');

		for (const device of [primary, phone]) {
			await device.page.reload();
			await expect(device.page.getByTestId('message')).toHaveText([/hello from the laptop/, /hello from the phone/]);
		}
		await send(phone.page, 'after the reload');
		await expect(primary.page.getByTestId('messages')).toContainText('after the reload');
	} finally {
		await browser.close();
	}
});

test('three devices: with the primary closed the two others still talk', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const phone = await openDevice(browser, baseURL!);
		const tablet = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		await approveByPaste(primary.page, phone.page, await showLinkCode(phone.page, 'Phone'));
		await primary.page.goto('/');
		await approveByPaste(primary.page, tablet.page, await showLinkCode(tablet.page, 'Tablet'));
		await expect(tablet.page.getByTestId('peers')).toHaveText('2 other device(s) connected');

		await primary.context.close();
		await expect(phone.page.getByTestId('peers')).toHaveText('1 other device(s) connected');
		await openSelfChat(phone.page);
		await openSelfChat(tablet.page);
		await send(phone.page, 'the laptop is off');
		await expect(tablet.page.getByTestId('messages')).toContainText('the laptop is off');
		await send(tablet.page, 'still here');
		await expect(phone.page.getByTestId('messages')).toContainText('still here');
	} finally {
		await browser.close();
	}
});

test('an expired QR is refused on both devices and changes nothing', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const fresh = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		await fresh.page.clock.install();
		await primary.page.clock.install();
		await fresh.page.reload();
		const link = await showLinkCode(fresh.page, 'Old phone');
		await fresh.page.clock.fastForward('02:01');
		await expect(fresh.page.getByTestId('link-error')).toHaveText('This code has expired. Make a new one on the new device.');

		await primary.page.clock.fastForward('02:01');
		await primary.page.getByTestId('open-settings').click();
		await primary.page.getByTestId('link-device').click();
		await primary.page.getByTestId('paste-link').fill(link);
		await primary.page.getByTestId('use-link').click();
		await expect(primary.page.getByTestId('link-error')).toHaveText('This code has expired. Make a new one on the new device.');
		await primary.page.goto('/settings');
		await expect(primary.page.getByTestId('device')).toHaveText([/Laptop/]);
	} finally {
		await browser.close();
	}
});

test('a link that is not ours gets a clear message, in English and in Dutch', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		await primary.page.getByTestId('open-settings').click();
		await primary.page.getByTestId('link-device').click();
		await primary.page.getByTestId('paste-link').fill('https://example.com/some/other/thing');
		await primary.page.getByTestId('use-link').click();
		await expect(primary.page.getByTestId('link-error')).toHaveText('This is not a Samen link code.');

		await primary.page.goto('/settings');
		await primary.page.getByTestId('language').selectOption('nl');
		await expect(primary.page.getByRole('heading', { level: 1 })).toHaveText('Instellingen');
		await primary.page.getByTestId('link-device').click();
		await primary.page.getByTestId('paste-link').fill('samen1.kapot');
		await primary.page.getByTestId('use-link').click();
		await expect(primary.page.getByTestId('link-error')).toHaveText('Dit is geen koppelcode van Samen.');
	} finally {
		await browser.close();
	}
});
