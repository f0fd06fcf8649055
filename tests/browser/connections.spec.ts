import { expect, test } from '@playwright/test';
import { launch, linkedDevices, openSelfChat, send, type TestDevice } from './devices';

test('a connection attempt that fails because a page is frozen is tried again, and the devices meet', async ({ baseURL }) => {
	test.setTimeout(120_000);
	const browser = await launch();
	try {
		const [laptop, phone] = (await linkedDevices(browser, baseURL!, ['Phone'])) as [TestDevice, TestDevice];
		await laptop.page.close();
		await openSelfChat(phone.page);
		await expect(phone.page.getByTestId('peers')).toHaveText('No other device connected');

		// The phone's page is busy for longer than a connection attempt may take (CONNECT_TIMEOUT_MS,
		// 20 s): the laptop's offer, made as it comes back, goes unanswered until that attempt gave up.
		const frozen = phone.page.evaluate(() => {
			const end = performance.now() + 25_000;
			while (performance.now() < end);
		});
		const laptopAgain = await laptop.context.newPage();
		await openSelfChat(laptopAgain);
		await frozen;

		await expect(laptopAgain.getByTestId('peers')).toHaveText('1 other device connected', { timeout: 45_000 });
		await expect(phone.page.getByTestId('peers')).toHaveText('1 other device connected');
		await send(laptopAgain, 'after the freeze');
		await expect(phone.page.getByTestId('messages')).toContainText('after the freeze');
	} finally {
		await browser.close();
	}
});
