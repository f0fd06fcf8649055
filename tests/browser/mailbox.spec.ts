import { expect, test } from '@playwright/test';
import { approveByPaste, createAccount, launch, openDevice, openSelfChat, send, showLinkCode } from './devices';

test('a message reaches a device that is never online at the same time as the writer', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const laptop = await openDevice(browser, baseURL!);
		const phone = await openDevice(browser, baseURL!);
		await createAccount(laptop.page, 'Ada', 'Laptop');
		await approveByPaste(laptop.page, phone.page, await showLinkCode(phone.page, 'Phone'));
		await expect(phone.page.getByTestId('sync')).toHaveText('History synced');
		await phone.page.close();

		await openSelfChat(laptop.page);
		await expect(laptop.page.getByTestId('peers')).toHaveText('No other device connected');
		const mailboxBytes = async () => Number(/^samen_mailbox_bytes (\d+)$/m.exec(await (await fetch(`${baseURL}/metrics`)).text())?.[1]);
		// What waits before: the account's introduction, left for devices that were away.
		const before = await mailboxBytes();
		await send(laptop.page, 'left for the phone while it was off');
		// The laptop goes away before the phone comes back: only the server's mailbox holds the message.
		await expect.poll(mailboxBytes).toBeGreaterThan(before);
		await expect(laptop.page.getByTestId('undelivered')).toHaveCount(0);
		await laptop.page.close();

		const phoneAgain = await phone.context.newPage();
		await phoneAgain.goto('/chat?id=self');
		await expect(phoneAgain.getByTestId('messages')).toContainText('left for the phone while it was off');
		await expect(phoneAgain.getByTestId('peers')).toHaveText('No other device connected');
		// Alone, it still knows it has what the others left for it.
		await expect(phoneAgain.getByTestId('sync')).toHaveText('History synced');
	} finally {
		await browser.close();
	}
});
