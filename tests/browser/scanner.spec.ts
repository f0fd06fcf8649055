/**
 * The camera on the primary's Link a device screen when things go wrong: refused, missing, no camera
 * API, a QR reader that cannot load, a QR that is not a Samen link, and the camera being stopped.
 * The happy path through the camera is in link.spec.ts.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import QRCode from 'qrcode';
import {
	cameraSceneFile,
	cameraUse,
	confirmCodes,
	createAccount,
	launch,
	launchWithCamera,
	openDevice,
	pageErrors,
	showLinkCode,
	type DeviceOptions,
	type TestDevice
} from './devices';

const FAKE_CAMERA = '--use-fake-device-for-media-stream';
const ALLOW_CAMERA = '--use-fake-ui-for-media-stream';

/** A primary whose user has opened Settings → Link a device; `before` runs just before that screen opens. */
async function primaryOnLinkScreen(
	browser: Browser,
	baseURL: string,
	options: DeviceOptions = {},
	before?: (device: TestDevice) => Promise<void>
): Promise<TestDevice> {
	const primary = await openDevice(browser, baseURL, { watchCamera: true, ...options });
	await createAccount(primary.page, 'Ada', 'Laptop');
	await before?.(primary);
	await primary.page.getByTestId('open-settings').click();
	await primary.page.getByTestId('link-device').click();
	await expect(primary.page.getByTestId('scan-qr')).toBeVisible();
	return primary;
}

/** A camera that films a QR code of `text` (not one the app made), small and turned as in a hand. */
async function cameraOnQrOf(text: string): Promise<string> {
	return cameraSceneFile(await QRCode.toBuffer(text, { type: 'png', margin: 4, width: 352, errorCorrectionLevel: 'M' }), { symbolHeight: 0.3, angle: 20 });
}

async function expectCameraProblem(page: Page, text: string): Promise<void> {
	await expect(page.getByTestId('camera-error')).toContainText(text);
	await expect(page.getByTestId('camera')).toBeHidden();
	await expect(page.getByTestId('paste-instead')).toHaveText('Paste link');
	await expect(page.getByTestId('camera-retry')).toHaveText('Try again');
}

test('camera refused: the screen says how to allow it; Try again asks again, and reads the code once it is allowed', async ({ baseURL }) => {
	const newBrowser = await launch();
	const fresh = await openDevice(newBrowser, baseURL!);
	await showLinkCode(fresh.page, 'Tablet');
	const camera = cameraSceneFile(await fresh.page.getByTestId('link-qr').screenshot(), { symbolHeight: 0.3, angle: 15 });
	// A camera exists, but no one answers the permission prompt with yes: Chromium refuses it.
	const primaryBrowser = await launch([FAKE_CAMERA, `--use-file-for-fake-video-capture=${camera}`]);
	try {
		const primary = await primaryOnLinkScreen(primaryBrowser, baseURL!, { permissions: [] });
		const errors = pageErrors(primary.page);
		await primary.page.getByTestId('scan-qr').click();
		const refused =
			'Samen may not use the camera. To scan, allow the camera for this site in your browser’s settings (often behind the icon next to the address) and try again. Or paste the link of the new device instead.';
		await expectCameraProblem(primary.page, refused);
		await primary.page.getByTestId('camera-retry').click();
		await expect.poll(async () => (await cameraUse(primary.page)).requests).toBe(2);
		await expectCameraProblem(primary.page, refused);

		// The user allows the camera in the browser's settings and tries again.
		await primary.context.grantPermissions(['camera']);
		await primary.page.getByTestId('camera-retry').click();
		await expect(primary.page.getByTestId('camera-error')).toHaveCount(0);
		await confirmCodes(primary.page, fresh.page);
		expect(await cameraUse(primary.page)).toEqual({ requests: 3, live: 0 });
		// A refused camera is a case the screen handles, not an error of the page.
		expect(errors).toEqual([]);
	} finally {
		await primaryBrowser.close();
		await newBrowser.close();
	}
});

test('no camera: the screen says so, and Paste link leads to the field that links the device', async ({ baseURL }) => {
	// Without a fake device, this machine has no camera at all.
	const browser = await launch([ALLOW_CAMERA]);
	try {
		const fresh = await openDevice(browser, baseURL!);
		const link = await showLinkCode(fresh.page, 'Tablet');
		const primary = await primaryOnLinkScreen(browser, baseURL!);
		const errors = pageErrors(primary.page);
		await primary.page.getByTestId('scan-qr').click();
		await expectCameraProblem(
			primary.page,
			'No camera was found on this device. Paste the link of the new device instead: tap Copy link on the new device, send it to yourself, and paste it below.'
		);
		await primary.page.getByTestId('paste-instead').click();
		await expect(primary.page.getByTestId('paste-link')).toBeFocused();
		await primary.page.keyboard.insertText(link);
		await primary.page.getByTestId('use-link').click();
		await confirmCodes(primary.page, fresh.page);
		expect(errors).toEqual([]);
	} finally {
		await browser.close();
	}
});

test('a browser without camera access for pages says so instead of failing', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const primary = await primaryOnLinkScreen(browser, baseURL!);
		const errors = pageErrors(primary.page);
		// As in an old browser, or a page not served over https: no navigator.mediaDevices.
		await primary.page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'mediaDevices', { get: () => undefined }));
		await primary.page.reload();
		await primary.page.getByTestId('scan-qr').click();
		await expectCameraProblem(
			primary.page,
			'This browser cannot use a camera here. Paste the link of the new device instead: tap Copy link on the new device, send it to yourself, and paste it below.'
		);
		// The same in Dutch.
		await primary.page.goto('/settings');
		await primary.page.getByTestId('language').selectOption('nl');
		await primary.page.getByTestId('link-device').click();
		await primary.page.getByTestId('scan-qr').click();
		await expect(primary.page.getByTestId('camera-error')).toContainText(
			'Deze browser kan hier geen camera gebruiken. Plak in plaats daarvan de link van het nieuwe apparaat'
		);
		await expect(primary.page.getByTestId('paste-instead')).toHaveText('Link plakken');
		await expect(primary.page.getByTestId('camera-retry')).toHaveText('Opnieuw proberen');
		expect(errors).toEqual([]);
	} finally {
		await browser.close();
	}
});

test('a QR reader that cannot load says so; once it loads, a QR that is not a Samen link is refused clearly', async ({ baseURL }) => {
	const browser = await launchWithCamera(await cameraOnQrOf('https://example.com/menu'));
	try {
		// No service worker, so that the test decides what the reader's file request gets.
		// The screen loads the reader as it opens: the file is missing from then on.
		const primary = await primaryOnLinkScreen(browser, baseURL!, { serviceWorkers: 'block' }, async (device) => {
			await device.context.route('**/*.wasm', (route) => route.fulfill({ status: 404, body: 'Not found.' }));
		});
		await primary.page.getByTestId('scan-qr').click();
		await expectCameraProblem(primary.page, 'The QR code reader could not be loaded. Try again, or paste the link instead.');
		// The camera is not left on behind the message.
		await expect.poll(async () => (await cameraUse(primary.page)).live).toBe(0);

		await primary.context.unroute('**/*.wasm');
		const errors = pageErrors(primary.page);
		await primary.page.getByTestId('camera-retry').click();
		await expect(primary.page.getByTestId('link-error')).toHaveText('This is not a Samen link code.');
		expect(await cameraUse(primary.page)).toEqual({ requests: 2, live: 0 });
		await primary.page.getByTestId('link-retry').click();
		await expect(primary.page.getByTestId('scan-qr')).toBeVisible();
		expect(errors).toEqual([]);
	} finally {
		await browser.close();
	}
});

test('offline, the scanner still reads: its WebAssembly comes from the service worker’s cache', async ({ baseURL }) => {
	const browser = await launchWithCamera(await cameraOnQrOf('samen2.kapot'));
	try {
		const primary = await primaryOnLinkScreen(browser, baseURL!);
		await expect.poll(() => primary.page.evaluate(async () => !!(await navigator.serviceWorker.ready).active)).toBe(true);
		// The decoder this page loaded ahead is in: its response is not counted as the reloaded page's.
		await expect.poll(() => primary.page.evaluate(() => performance.getEntriesByType('resource').some((entry) => entry.name.endsWith('.wasm')))).toBe(true);
		await primary.context.setOffline(true);
		const wasm: boolean[] = [];
		primary.page.on('response', (response) => {
			if (response.url().endsWith('.wasm')) wasm.push(response.fromServiceWorker());
		});
		await primary.page.reload();
		const errors = pageErrors(primary.page);
		await primary.page.getByTestId('scan-qr').click();
		// A broken Samen link is read from the camera and refused, all without a network.
		await expect(primary.page.getByTestId('link-error')).toHaveText('This is not a Samen link code.');
		expect(wasm).toEqual([true]);
		// Chromium itself logs that the signaling server cannot be reached; the app logs nothing.
		expect(errors.filter((error) => !error.includes("WebSocket connection to 'ws://localhost"))).toEqual([]);
	} finally {
		await browser.close();
	}
});

test('Stop camera and Cancel turn the camera off; frames without a code cause no error', async ({ baseURL }) => {
	// Chromium's own test pattern: a camera that sees no QR code.
	const browser = await launch([FAKE_CAMERA, ALLOW_CAMERA]);
	try {
		const primary = await primaryOnLinkScreen(browser, baseURL!);
		const errors = pageErrors(primary.page);
		await primary.page.getByTestId('scan-qr').click();
		await expect(primary.page.getByTestId('camera')).toBeVisible();
		await expect.poll(async () => (await cameraUse(primary.page)).live).toBe(1);
		// A few seconds of frames to read, none with a code.
		await primary.page.waitForTimeout(2_000);
		await primary.page.getByTestId('stop-scan').click();
		await expect(primary.page.getByTestId('camera')).toBeHidden();
		expect(await cameraUse(primary.page)).toEqual({ requests: 1, live: 0 });

		await primary.page.getByTestId('scan-qr').click();
		await expect.poll(async () => (await cameraUse(primary.page)).live).toBe(1);
		await primary.page.getByTestId('link-cancel').click();
		await expect(primary.page.getByRole('heading', { level: 1 })).toHaveText('Settings');
		expect(await cameraUse(primary.page)).toEqual({ requests: 2, live: 0 });
		expect(errors).toEqual([]);
	} finally {
		await browser.close();
	}
});

test('the browser’s own BarcodeDetector reads where it knows QR codes, and no WebAssembly is fetched; one without QR codes is passed over for ZXing', async ({
	baseURL
}) => {
	const browser = await launchWithCamera(await cameraOnQrOf('https://example.com/not-samen'));
	try {
		// As on Android: a native detector that reads QR codes (here one that "reads" a broken Samen link in any frame).
		const native = await openDevice(browser, baseURL!, { serviceWorkers: 'block' });
		await native.context.addInitScript(() => {
			class NativeDetector {
				static getSupportedFormats = async () => ['qr_code', 'ean_13'];
				detect = async () => {
					(window as unknown as { nativeReads: number }).nativeReads = ((window as unknown as { nativeReads?: number }).nativeReads ?? 0) + 1;
					return [{ rawValue: 'samen2.native' }];
				};
			}
			Object.assign(globalThis, { BarcodeDetector: NativeDetector });
		});
		await native.page.reload();
		const fetched: string[] = [];
		native.context.on('request', (request) => fetched.push(request.url()));
		await createAccount(native.page, 'Ada', 'Laptop');
		await native.page.getByTestId('open-settings').click();
		await native.page.getByTestId('link-device').click();
		await native.page.getByTestId('scan-qr').click();
		await expect(native.page.getByTestId('link-error')).toHaveText('This is not a Samen link code.');
		expect(fetched.filter((url) => url.endsWith('.wasm'))).toEqual([]);
		expect(await native.page.evaluate(() => (window as unknown as { nativeReads?: number }).nativeReads)).toBe(1);

		// As in Chromium where the class exists without QR codes: ZXing reads the camera's real QR code.
		const other = await openDevice(browser, baseURL!, { serviceWorkers: 'block' });
		await other.context.addInitScript(() => {
			class NoQrDetector {
				static getSupportedFormats = async () => ['ean_13'];
				detect = async () => {
					(window as unknown as { nativeReads: number }).nativeReads = ((window as unknown as { nativeReads?: number }).nativeReads ?? 0) + 1;
					return [{ rawValue: 'samen2.native' }];
				};
			}
			Object.assign(globalThis, { BarcodeDetector: NoQrDetector });
		});
		await other.page.reload();
		await createAccount(other.page, 'Bea', 'Desktop');
		await other.page.getByTestId('open-settings').click();
		await other.page.getByTestId('link-device').click();
		await other.page.getByTestId('scan-qr').click();
		// Refused again, but this time ZXing read the filmed example.com code: the native class was never asked.
		await expect(other.page.getByTestId('link-error')).toHaveText('This is not a Samen link code.');
		expect(await other.page.evaluate(() => (window as unknown as { nativeReads?: number }).nativeReads)).toBeUndefined();
		expect(await other.page.evaluate(() => performance.getEntriesByType('resource').some((entry) => entry.name.endsWith('.wasm')))).toBe(true);
	} finally {
		await browser.close();
	}
});
