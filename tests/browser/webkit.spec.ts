import { expect, test } from '@playwright/test';
import { CANNOT_APPROVE, CANNOT_JOIN, NO_WEBRTC } from './devices';
import { WebKitDevice } from './webkit';

// Debian's WebKitGTK is built without WebRTC (FIELD-NOTES): the app must still open, keep an
// account, and tell its user that this browser cannot connect to other devices.
test('WebKitGTK, without WebRTC: the app opens, makes an account, and says that it cannot connect devices', async ({ baseURL }) => {
	const webkit = await WebKitDevice.launch();
	try {
		await webkit.goto(baseURL!);
		expect(await webkit.execute<string>('return typeof RTCPeerConnection')).toBe('undefined');
		await webkit.seeText('no-webrtc', NO_WEBRTC);

		await webkit.click('link-account');
		await webkit.seeText('link-unavailable', CANNOT_JOIN);
		expect(await webkit.text('link-qr')).toBeUndefined();
		await webkit.click('link-cancel');

		await webkit.click('create-account');
		await webkit.fill('account-name', 'Ada');
		await webkit.fill('device-name', 'WebKit');
		await webkit.click('create-submit');
		await webkit.seeText('chat-self', 'Message yourself');
		await webkit.seeText('no-webrtc', NO_WEBRTC);
		await webkit.seeText('network', 'Online');

		await webkit.click('chat-self');
		await webkit.fill('composer', 'written in WebKit');
		await webkit.click('send');
		await webkit.seeText('messages', 'written in WebKit');
		await webkit.goto(`${baseURL}/chat?id=self`);
		await webkit.seeText('messages', 'written in WebKit');

		await webkit.click('open-settings');
		await webkit.click('link-device');
		await webkit.seeText('link-unavailable', CANNOT_APPROVE);
		expect(await webkit.text('paste-link')).toBeUndefined();
	} finally {
		await webkit.close();
	}
});
