import { expect, test } from '@playwright/test';
import { launch, linkedDevices, openSelfChat, send, type TestDevice } from './devices';

test('two tabs of one browser are one device: the second can take over, and what it writes reaches the primary alone', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const [primary, phone] = (await linkedDevices(browser, baseURL!, ['Phone'])) as [TestDevice, TestDevice];
		await openSelfChat(primary.page);
		await expect(primary.page.getByTestId('peers')).toHaveText('1 other device connected');

		// A second tab of the phone's browser does not join as another device.
		const secondTab = await phone.context.newPage();
		await secondTab.goto('/');
		await expect(secondTab.getByTestId('open-elsewhere')).toContainText('Samen is open in another tab');
		await expect(primary.page.getByTestId('peers')).toHaveText('1 other device connected');

		await secondTab.getByTestId('use-here').click();
		await expect(phone.page.getByTestId('open-elsewhere')).toBeVisible();
		await secondTab.getByTestId('chat-self').click();
		await expect(primary.page.getByTestId('peers')).toHaveText('1 other device connected');
		await primary.page.close();

		// The primary is away: what the tab writes waits in the mailbox, not in the other tab.
		await send(secondTab, 'written in the second tab');
		await expect(secondTab.getByTestId('undelivered')).toHaveCount(0);
		await phone.context.close();
		const primaryAgain = await primary.context.newPage();
		await primaryAgain.goto('/chat?id=self');
		await expect(primaryAgain.getByTestId('messages')).toContainText('written in the second tab');
	} finally {
		await browser.close();
	}
});
