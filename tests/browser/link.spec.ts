import { expect, test, type Page } from '@playwright/test';
import {
	approveByPaste,
	cameraSceneFile,
	cameraUse,
	confirmCodes,
	createAccount,
	launch,
	launchWithCamera,
	openDevice,
	openSelfChat,
	pageErrors,
	pasteLink,
	send,
	showLinkCode,
	type TestDevice
} from './devices';

test('link by camera: the primary reads a QR at a third of the frame, turned, on a noisy background; the camera stays off until asked', async ({
	baseURL
}) => {
	const newBrowser = await launch();
	const fresh = await openDevice(newBrowser, baseURL!);
	await showLinkCode(fresh.page, 'Pixel');
	// What a phone camera sees of the other screen: the symbol 30 % of the frame high, turned 25°.
	const camera = cameraSceneFile(await fresh.page.getByTestId('link-qr').screenshot(), { symbolHeight: 0.3, angle: 25 });

	const primaryBrowser = await launchWithCamera(camera);
	try {
		const primary = await openDevice(primaryBrowser, baseURL!, { watchCamera: true });
		const errors = pageErrors(primary.page);
		const elsewhere: string[] = [];
		primary.context.on('request', (request) => {
			if (new URL(request.url()).origin !== new URL(baseURL!).origin) elsewhere.push(request.url());
		});
		await createAccount(primary.page, 'Ada', 'Laptop');
		await openSelfChat(primary.page);
		await send(primary.page, 'written before linking');
		await primary.page.getByTestId('open-settings').click();
		await primary.page.getByTestId('link-device').click();
		// The page alone starts neither the camera nor a link: the user asks for the camera.
		await expect(primary.page.getByTestId('scan-qr')).toHaveText('Scan with camera');
		await expect(primary.page.getByTestId('camera')).toBeHidden();
		expect(await cameraUse(primary.page)).toEqual({ requests: 0, live: 0 });
		await primary.page.getByTestId('scan-qr').click();
		await expect(primary.page.getByTestId('camera')).toBeVisible();
		await expect(primary.page.getByTestId('scanning')).toHaveText('Point the camera at the code on the new device.');
		// Nothing is pasted: the only way to the codes is the camera reading the QR.
		await confirmCodes(primary.page, fresh.page);
		// A code read turns the camera off.
		expect(await cameraUse(primary.page)).toEqual({ requests: 1, live: 0 });
		// From the camera showing to the code read: under 2 s, as a user holding a phone expects.
		expect(await scanMs(primary.page)).toBeLessThan(2_000);

		await expect(fresh.page.getByTestId('sync')).toHaveText('History synced');
		await openSelfChat(fresh.page);
		await expect(fresh.page.getByTestId('messages')).toContainText('written before linking');
		await fresh.page.goto('/settings');
		await expect(fresh.page.getByTestId('device')).toHaveText([/Laptop/, /Pixel/]);
		// The QR reader came from the app's own origin, and nothing went wrong on the way.
		expect(elsewhere).toEqual([]);
		expect(errors).toEqual([]);
	} finally {
		await primaryBrowser.close();
		await newBrowser.close();
	}
});

/** Milliseconds from the camera showing to the scanner reading a code (marks that src/lib/ui/scanner.ts sets). */
function scanMs(page: Page): Promise<number> {
	return page.evaluate(() => {
		const [camera] = performance.getEntriesByName('samen-scanner-camera');
		const [decoded] = performance.getEntriesByName('samen-scanner-decoded');
		if (!camera || !decoded) throw new Error('The scanner did not mark its camera and its read');
		return decoded.startTime - camera.startTime;
	});
}

test('Cancel on every step of linking takes each side back to where it came from, and the other side is told', async ({ baseURL }) => {
	test.setTimeout(120_000);
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const fresh = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		const settings = primary.page.getByRole('heading', { level: 1 });
		const welcome = fresh.page.getByTestId('create-account');
		const openLinkScreen = async () => {
			await primary.page.goto('/settings');
			await primary.page.getByTestId('link-device').click();
			await expect(primary.page.getByTestId('scan-qr')).toBeVisible();
		};
		/** Both screens show the code of a new invitation. */
		const bothShowCode = async () => {
			await expect(welcome).toBeVisible();
			const link = await showLinkCode(fresh.page, 'Tablet');
			await openLinkScreen();
			await primary.page.getByTestId('paste-link').fill(link);
			await primary.page.getByTestId('use-link').click();
			await expect(primary.page.getByTestId('link-code')).toHaveText(/^\d{3} \d{3}$/);
			await expect(fresh.page.getByTestId('link-code')).toHaveText(/^\d{3} \d{3}$/);
		};
		const cancelled = async (device: TestDevice) => {
			await expect(device.page.getByTestId('link-error')).toHaveText('Linking was cancelled.');
			await device.page.getByTestId('link-cancel').click();
		};

		// The new device shows its code; the primary chooses camera or paste.
		await showLinkCode(fresh.page, 'Tablet');
		await fresh.page.getByTestId('link-cancel').click();
		await expect(welcome).toBeVisible();
		await openLinkScreen();
		await primary.page.getByTestId('link-cancel').click();
		await expect(settings).toHaveText('Settings');

		// Both show the code: Cancel on the primary, then on the new device.
		await bothShowCode();
		await primary.page.getByTestId('link-cancel').click();
		await expect(settings).toHaveText('Settings');
		await cancelled(fresh);
		await expect(welcome).toBeVisible();
		await bothShowCode();
		await fresh.page.getByTestId('link-cancel').click();
		await expect(welcome).toBeVisible();
		await cancelled(primary);
		await expect(settings).toHaveText('Settings');

		// One side said yes and waits for the other: Cancel there too.
		await bothShowCode();
		await primary.page.getByTestId('confirm-link').click();
		await expect(primary.page.getByTestId('waiting-new-device')).toBeVisible();
		await primary.page.getByTestId('link-cancel').click();
		await expect(settings).toHaveText('Settings');
		await cancelled(fresh);
		await bothShowCode();
		await fresh.page.getByTestId('confirm-code').click();
		await expect(fresh.page.getByTestId('waiting-primary')).toBeVisible();
		await fresh.page.getByTestId('link-cancel').click();
		await expect(welcome).toBeVisible();
		await cancelled(primary);
		await expect(settings).toHaveText('Settings');

		// The primary connects to a device that has gone: Cancel while it waits.
		const link = await showLinkCode(fresh.page, 'Tablet');
		await fresh.context.close();
		await openLinkScreen();
		await primary.page.getByTestId('paste-link').fill(link);
		await primary.page.getByTestId('use-link').click();
		await expect(primary.page.getByTestId('approve-connecting')).toHaveText('Connecting to the new device…');
		await primary.page.getByTestId('link-cancel').click();
		await expect(settings).toHaveText('Settings');
		// Nothing was linked on the way.
		await expect(primary.page.getByTestId('device')).toHaveText([/Laptop/]);
	} finally {
		await browser.close();
	}
});

test('link by pasted link, messages both ways, and both survive a reload', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const phone = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		const link = await showLinkCode(phone.page, 'Phone');
		expect(link).toMatch(/\/settings\/link#samen2\./);
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
		await expect(tablet.page.getByTestId('peers')).toHaveText('2 other devices connected');

		await primary.context.close();
		await expect(phone.page.getByTestId('peers')).toHaveText('1 other device connected');
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
		await expect(fresh.page.getByTestId('link-error')).toHaveText('This code has expired. Make a new code on this device and scan that one.');
		await expect(fresh.page.getByTestId('link-again')).toHaveText('Make a new code');

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
		await primary.page.getByTestId('paste-link').fill('samen2.kapot');
		await primary.page.getByTestId('use-link').click();
		await expect(primary.page.getByTestId('link-error')).toHaveText('Dit is geen koppelcode van Samen.');
	} finally {
		await browser.close();
	}
});

test('opening a link code as a URL starts nothing: it is explained, and the new device keeps waiting', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const fresh = await openDevice(browser, baseURL!);
		const stranger = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		const link = await showLinkCode(fresh.page, 'Tablet');
		const forwarded = async () => Number(/^samen_frames_forwarded_total (\d+)$/m.exec(await (await fetch(`${baseURL}/metrics`)).text())?.[1]);
		const before = await forwarded();

		await primary.page.goto(link);
		await expect(primary.page.getByTestId('link-explained')).toHaveText(
			'This link is for linking a new device. To link it, scan the QR code shown on the new device with Settings → Link a device here, or paste the link yourself.'
		);
		await expect(primary.page).toHaveURL(`${baseURL}/settings/link`);
		await expect(primary.page.getByTestId('paste-link')).toHaveValue('');
		// The same link entered again in the address bar of this open page: only the fragment changes.
		await primary.page.evaluate((hash) => (location.hash = hash), new URL(link).hash);
		await expect(primary.page).toHaveURL(`${baseURL}/settings/link`);
		await expect(primary.page.getByTestId('link-explained')).toBeVisible();

		// A browser without the account: what the link is, where it works, and what this browser can do.
		await stranger.page.goto(link);
		await expect(stranger.page.getByTestId('link-explained')).toHaveText(
			'This link is for linking a new device to a Samen account. It was made by the new device, and it works on the primary device of the account: open Samen there, go to Settings → Link a device, and paste this link or scan the QR code that the new device shows. This browser holds no account, so it cannot use the link itself.'
		);
		await expect(stranger.page.getByText('To use Samen in this browser too, link it to your account or create one:')).toBeVisible();
		await expect(stranger.page.getByTestId('create-account')).toHaveText('Create account');
		await expect(stranger.page).toHaveURL(`${baseURL}/settings/link`);

		// An approval would have shown a code on both screens within a second or two.
		await primary.page.waitForTimeout(2_000);
		for (const page of [primary.page, fresh.page]) await expect(page.getByTestId('link-code')).toHaveCount(0);
		await expect(primary.page.getByTestId('approve-connecting')).toHaveCount(0);
		await expect(fresh.page.getByTestId('link-qr')).toBeVisible();
		// No device spoke to another through the server.
		expect(await forwarded()).toBe(before);

		// The same code still links, once the user pastes it.
		await primary.page.getByTestId('paste-link').fill(link);
		await primary.page.getByTestId('use-link').click();
		await confirmCodes(primary.page, fresh.page);

		// The browser without an account is offered the way to become a device of one.
		await stranger.page.getByTestId('link-account').click();
		await expect(stranger.page.getByTestId('link-qr').locator('svg')).toBeVisible();
	} finally {
		await browser.close();
	}
});

test('the user of the new device says the codes differ: both screens say linking was cancelled', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await openDevice(browser, baseURL!);
		const fresh = await openDevice(browser, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');
		await pasteLink(primary.page, await showLinkCode(fresh.page, 'Tablet'));
		await expect(fresh.page.getByTestId('link-code')).toHaveText(/^\d{3} \d{3}$/);
		await primary.page.getByTestId('confirm-link').click();
		await expect(primary.page.getByTestId('waiting-new-device')).toHaveText('Waiting for “Tablet” to confirm the code…');
		await fresh.page.getByTestId('reject-code').click();
		for (const page of [fresh.page, primary.page]) await expect(page.getByTestId('link-error')).toHaveText('Linking was cancelled.');
		await primary.page.getByTestId('link-cancel').click();
		await expect(primary.page.getByTestId('device-name')).toHaveText(['Laptop']);
		await fresh.page.getByTestId('link-cancel').click();
		await expect(fresh.page.getByTestId('create-account')).toBeVisible();
	} finally {
		await browser.close();
	}
});
