import { expect, test, type Page } from '@playwright/test';
import { CANNOT_APPROVE, CANNOT_JOIN, createAccount, launch, NO_WEBRTC, openSelfChat, send } from './devices';

/** As in a browser built without WebRTC, or with WebRTC switched off in its privacy settings. */
function withoutWebRtc() {
	const scope = window as unknown as Record<string, unknown>;
	for (const name of ['RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel', 'RTCSessionDescription', 'RTCIceCandidate']) delete scope[name];
}

function collectErrors(page: Page): string[] {
	const errors: string[] = [];
	page.on('pageerror', (error) => errors.push(error.message));
	return errors;
}

test('without WebRTC the app says it cannot connect devices, starts no link, and still keeps an account', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const plain = await browser.newContext({ baseURL });
		const withRtc = await plain.newPage();
		await withRtc.goto('/');
		await expect(withRtc.getByTestId('create-account')).toBeVisible();
		await expect(withRtc.getByTestId('no-webrtc')).toHaveCount(0);

		const context = await browser.newContext({ baseURL });
		await context.addInitScript(withoutWebRtc);
		const page = await context.newPage();
		const errors = collectErrors(page);
		await page.goto('/');
		await expect(page.getByTestId('no-webrtc')).toContainText(NO_WEBRTC);
		await expect(page.getByTestId('no-webrtc')).toContainText('Use Samen in Chrome, Edge, Firefox or Safari');

		// A new device explains instead of showing a code that no primary could ever answer.
		await page.getByTestId('link-account').click();
		await expect(page.getByTestId('link-unavailable')).toContainText(CANNOT_JOIN);
		await expect(page.getByTestId('link-qr')).toHaveCount(0);
		await expect(page.getByTestId('link-text')).toHaveCount(0);
		await page.getByTestId('link-cancel').click();

		await createAccount(page, 'Ada', 'Laptop');
		await expect(page.getByTestId('no-webrtc')).toContainText(NO_WEBRTC);
		await expect(page.getByTestId('peers')).toHaveText('No other device connected');
		await openSelfChat(page);
		await send(page, 'written without WebRTC');
		await page.reload();
		await expect(page.getByTestId('messages')).toContainText('written without WebRTC');

		// The primary cannot take a new device's link either: no camera, no paste field, the reason.
		await page.getByTestId('open-settings').click();
		await page.getByTestId('link-device').click();
		await expect(page.getByTestId('link-unavailable')).toContainText(CANNOT_APPROVE);
		await expect(page.getByTestId('paste-link')).toHaveCount(0);
		await expect(page.getByTestId('scan-qr')).toHaveCount(0);
		expect(errors).toEqual([]);

		const dutch = await browser.newContext({ baseURL, locale: 'nl-NL' });
		await dutch.addInitScript(withoutWebRtc);
		const dutchPage = await dutch.newPage();
		await dutchPage.goto('/');
		await expect(dutchPage.getByTestId('no-webrtc')).toContainText('Deze browser kan geen verbinding maken met je andere apparaten (geen WebRTC).');
	} finally {
		await browser.close();
	}
});
