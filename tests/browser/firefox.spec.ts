import { expect, test } from '@playwright/test';
import { createAccount, launch, openDevice, openSelfChat, pasteLink, send } from './devices';
import { click, launchFirefox, openFirefoxDevice, openSelfChatInFirefox, seeText, sendInFirefox, showLinkCodeInFirefox } from './firefox';

test('a Firefox device links to an account on Chromium by pasted link, and messages go both ways', async ({ baseURL }) => {
	const chromium = await launch();
	const firefox = await launchFirefox();
	try {
		const primary = await openDevice(chromium, baseURL!);
		const fox = await openFirefoxDevice(firefox, baseURL!);
		await createAccount(primary.page, 'Ada', 'Laptop');

		const link = await showLinkCodeInFirefox(fox, 'Firefox');
		await pasteLink(primary.page, link);
		const primaryCode = primary.page.getByTestId('link-code');
		await expect(primaryCode).toHaveText(/^\d{3} \d{3}$/);
		expect(await seeText(fox, 'link-code', /^\d{3} \d{3}$/)).toBe(await primaryCode.textContent());
		await click(fox, 'confirm-code');
		await seeText(fox, 'waiting-primary', 'Waiting for the primary…');
		await primary.page.getByTestId('confirm-link').click();
		await expect(primary.page.getByTestId('link-done')).toHaveText('“Firefox” is now linked to your account.');
		await seeText(fox, 'chat-self', 'Message yourself');
		await seeText(fox, 'peers', '1 other device connected');

		await openSelfChat(primary.page);
		await openSelfChatInFirefox(fox);
		await send(primary.page, 'written in Chromium');
		await seeText(fox, 'messages', /written in Chromium.*from Laptop/);
		await sendInFirefox(fox, 'written in Firefox');
		await expect(primary.page.getByTestId('message').filter({ hasText: 'written in Firefox' })).toContainText('from Firefox');

		// Firefox keeps the account and the chat in its own storage, and connects again after a reload.
		await fox.reload();
		await seeText(fox, 'messages', /written in Chromium.*written in Firefox/);
		await seeText(fox, 'peers', '1 other device connected');
		await send(primary.page, 'after the reload');
		await seeText(fox, 'messages', 'after the reload');
	} finally {
		await firefox.close();
		await chromium.close();
	}
});
