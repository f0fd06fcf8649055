/**
 * Each device in a browser test is its own browser context (its own IndexedDB), or its own browser
 * when it needs a camera of its own, launched from Debian's Chromium.
 */
import { chromium, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cameraSceneY4m, pngToY4m, type SceneOptions } from './y4m';

/** What a browser without WebRTC says: across the top, and on each link screen. */
export const NO_WEBRTC = 'This browser cannot connect to your other devices (no WebRTC).';
export const CANNOT_JOIN = 'This browser cannot be linked to your account';
export const CANNOT_APPROVE = 'This browser cannot link devices';

export const CHROMIUM_ARGS = [
	'--no-sandbox',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--disable-features=WebRtcHideLocalIpsWithMdns'
];

export function launch(extraArgs: string[] = []): Promise<Browser> {
	return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A Y4M file that shows a screenshot to a fake camera, upright and filling most of the frame. */
export function cameraFile(screenshot: Buffer): string {
	return videoFile(pngToY4m(screenshot));
}

/** A Y4M file of what a phone camera sees of a QR code on another screen: small, turned, on a noisy background. */
export function cameraSceneFile(screenshot: Buffer, options?: SceneOptions): string {
	return videoFile(cameraSceneY4m(screenshot, options));
}

/**
 * Puts another screenshot before a fake camera made by `cameraFile`: Chromium opens its file again
 * each time a page starts the camera, so the next scan sees this one.
 */
export function showToCamera(y4mPath: string, screenshot: Buffer): void {
	writeFileSync(y4mPath, pngToY4m(screenshot));
}

function videoFile(video: Buffer): string {
	const path = join(mkdtempSync(join(tmpdir(), 'samen-camera-')), 'qr.y4m');
	writeFileSync(path, video);
	return path;
}

/** A browser whose camera shows the given Y4M file, as a phone camera would show a screen. */
export function launchWithCamera(y4mPath: string): Promise<Browser> {
	return launch([
		'--use-fake-device-for-media-stream',
		'--use-fake-ui-for-media-stream',
		`--use-file-for-fake-video-capture=${y4mPath}`
	]);
}

/**
 * Records what a user would never see but a broken page shows: uncaught exceptions and console errors.
 * Returns the list, which grows while the page lives.
 */
export function pageErrors(page: Page): string[] {
	const errors: string[] = [];
	page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
	page.on('console', (message) => {
		if (message.type() === 'error') errors.push(`console: ${message.text()}`);
	});
	return errors;
}

/** Keeps every camera track the pages of `context` open, so a test can tell whether the camera is still on. */
export async function watchCamera(context: BrowserContext): Promise<void> {
	await context.addInitScript(() => {
		const media = navigator.mediaDevices;
		const watched = window as unknown as { cameraRequests: number; cameraTracks: MediaStreamTrack[] };
		watched.cameraRequests = 0;
		watched.cameraTracks = [];
		if (!media?.getUserMedia) return;
		const getUserMedia = media.getUserMedia.bind(media);
		media.getUserMedia = async (constraints) => {
			watched.cameraRequests++;
			const stream = await getUserMedia(constraints);
			watched.cameraTracks.push(...stream.getTracks());
			return stream;
		};
	});
}

/** How often the page asked for the camera, and how many of the tracks it got are still live. */
export function cameraUse(page: Page): Promise<{ requests: number; live: number }> {
	return page.evaluate(() => {
		const watched = window as unknown as { cameraRequests: number; cameraTracks: MediaStreamTrack[] };
		return { requests: watched.cameraRequests, live: watched.cameraTracks.filter((track) => track.readyState === 'live').length };
	});
}

export interface TestDevice {
	context: BrowserContext;
	page: Page;
}

export interface DeviceOptions {
	/** Installs Playwright's fake clock before the app loads (time still flows until moved). */
	clock?: boolean;
	userAgent?: string;
	/** Records the camera's use (see `cameraUse`). */
	watchCamera?: boolean;
	/** The browser's permissions for the site; clipboard by default. */
	permissions?: string[];
	/** 'block': no service worker, so that a test can route the app's own files. */
	serviceWorkers?: 'allow' | 'block';
}

export async function openDevice(browser: Browser, baseURL: string, options: DeviceOptions = {}): Promise<TestDevice> {
	const context = await browser.newContext({
		baseURL,
		permissions: options.permissions ?? ['clipboard-read', 'clipboard-write'],
		userAgent: options.userAgent,
		serviceWorkers: options.serviceWorkers
	});
	if (options.watchCamera) await watchCamera(context);
	const page = await context.newPage();
	if (options.clock) await page.clock.install();
	await page.goto('/');
	return { context, page };
}

export async function createAccount(page: Page, name: string, deviceName: string): Promise<void> {
	await page.getByTestId('create-account').click();
	await page.getByTestId('account-name').fill(name);
	await page.getByTestId('device-name').fill(deviceName);
	await page.getByTestId('create-submit').click();
	await expect(page.getByTestId('chat-self')).toBeVisible();
}

/** Welcome → Link to existing account; keeps the suggested device name unless one is given. */
export async function showLinkCode(page: Page, deviceName?: string): Promise<string> {
	await page.getByTestId('link-account').click();
	if (deviceName !== undefined) await page.getByTestId('device-name').fill(deviceName);
	await expect(page.getByTestId('link-qr').locator('svg')).toBeVisible();
	return page.getByTestId('link-text').inputValue();
}

/** On the primary: Settings → Link a device → paste the link. */
export async function pasteLink(primary: Page, link: string): Promise<void> {
	await primary.getByTestId('open-settings').click();
	await primary.getByTestId('link-device').click();
	await primary.getByTestId('paste-link').fill(link);
	await primary.getByTestId('use-link').click();
}

/** Pastes the link on the primary, then both users compare the codes and confirm. */
export async function approveByPaste(primary: Page, newDevice: Page, link: string): Promise<void> {
	await pasteLink(primary, link);
	await confirmCodes(primary, newDevice);
}

/** On the primary: Settings → Link a device → Scan with camera, with a camera that sees the new device's QR. */
export async function approveByCamera(primary: Page, newDevice: Page): Promise<void> {
	await primary.getByTestId('open-settings').click();
	await primary.getByTestId('link-device').click();
	await primary.getByTestId('scan-qr').click();
	await confirmCodes(primary, newDevice);
}

/** Both screens show the same code; each user says yes; the new device receives the account. */
export async function confirmCodes(primary: Page, newDevice: Page): Promise<void> {
	const primaryCode = primary.getByTestId('link-code');
	await expect(primaryCode).toHaveText(/^\d{3} \d{3}$/);
	await expect(newDevice.getByTestId('link-code')).toHaveText((await primaryCode.textContent())!);
	await expect(newDevice.getByText('Does your primary device show this code?')).toBeVisible();
	await newDevice.getByTestId('confirm-code').click();
	await expect(newDevice.getByTestId('waiting-primary')).toHaveText('Waiting for the primary…');
	await primary.getByTestId('confirm-link').click();
	await expect(primary.getByTestId('link-done')).toBeVisible();
	await expect(newDevice.getByTestId('chat-self')).toBeVisible();
}

/**
 * A primary ("Laptop" of the account "Ada") and a device for each of `names`, each in its own
 * browser context, linked to it one after the other by pasted link.
 */
export async function linkedDevices(browser: Browser, baseURL: string, names: string[]): Promise<TestDevice[]> {
	const primary = await openDevice(browser, baseURL);
	const others: TestDevice[] = [];
	for (let i = 0; i < names.length; i++) others.push(await openDevice(browser, baseURL));
	await createAccount(primary.page, 'Ada', 'Laptop');
	for (const [index, name] of names.entries()) await approveByPaste(primary.page, others[index]!.page, await showLinkCode(others[index]!.page, name));
	return [primary, ...others];
}

/** The IndexedDB databases this page's origin holds. */
export function databases(page: Page): Promise<string[]> {
	return page.evaluate(async () => (await indexedDB.databases()).map((database) => database.name ?? ''));
}

/** The logged-out screen with the reason the user reads, and nothing of the account left in storage. */
export async function expectLoggedOut(page: Page, reason: string): Promise<void> {
	await expect(page.getByTestId('logged-out')).toBeVisible();
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('Logged out');
	await expect(page.getByTestId('logged-out-reason')).toHaveText(reason);
	expect(await databases(page)).toEqual([]);
}

export async function openSelfChat(page: Page): Promise<void> {
	await page.goto('/chat?id=self');
	await expect(page.getByTestId('composer')).toBeVisible();
}

export async function send(page: Page, text: string): Promise<void> {
	await page.getByTestId('composer').fill(text);
	await page.getByTestId('send').click();
	await expect(page.getByTestId('messages')).toContainText(text);
}

/** On the primary: Settings → the device's *Log out* → confirm. */
export async function removeDevice(primary: Page, name: string): Promise<void> {
	await primary.getByTestId('open-settings').click();
	const row = primary.getByTestId('device').filter({ has: primary.getByTestId('device-name').getByText(name, { exact: true }) });
	await row.getByTestId('remove-device').click();
	await expect(row.getByRole('alertdialog')).toContainText(`Log out “${name}”?`);
	await row.getByTestId('confirm-remove').click();
	await expect(primary.getByTestId('device-name').getByText(name, { exact: true })).toHaveCount(0);
}
