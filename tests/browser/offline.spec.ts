import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer, type SignalingServer } from '../../signaling/server';
import { launch, linkedDevices, openSelfChat, send, type TestDevice } from './devices';

// A server of this test's own, next to the one playwright.config.ts starts.
const PORT = Number(process.env.SAMEN_TEST_PORT ?? 4391) + 1;
const staticDir = fileURLToPath(new URL('../../build', import.meta.url));
const start = () => startSignalingServer({ port: PORT, host: '0.0.0.0', staticDir, log: silentLogger });

test('the signaling server goes away and comes back: the app says so, keeps working, and catches up', async () => {
	let server: SignalingServer | undefined = await start();
	const baseURL = `http://localhost:${PORT}`;
	const browser = await launch();
	try {
		const [primary, phone] = (await linkedDevices(browser, baseURL, ['Phone'])) as [TestDevice, TestDevice];
		await openSelfChat(primary.page);
		await openSelfChat(phone.page);
		await expect(primary.page.getByTestId('peers')).toHaveText('1 other device connected');

		await server.close();
		server = undefined;
		const offline = 'Offline: messages are kept and sent when your devices meet again';
		await expect(primary.page.getByTestId('network')).toHaveText(offline);
		await expect(phone.page.getByTestId('network')).toHaveText(offline);
		// The devices' direct channel does not need the server.
		await send(primary.page, 'sent while the server is down');
		await expect(phone.page.getByTestId('messages')).toContainText('sent while the server is down');

		await phone.page.close();
		await send(primary.page, 'written while the phone was closed');
		// With no server at all, the app still opens from the device and shows its data.
		await primary.page.reload();
		await expect(primary.page.getByTestId('messages')).toContainText('written while the phone was closed');

		server = await start();
		await expect(primary.page.getByTestId('network')).toHaveText('Online', { timeout: 30_000 });
		const reopened = await phone.context.newPage();
		await reopened.goto('/chat?id=self');
		await expect(reopened.getByTestId('messages')).toContainText('written while the phone was closed');
		await send(reopened, 'back online');
		await expect(primary.page.getByTestId('messages')).toContainText('back online');
	} finally {
		await browser.close();
		await server?.close();
	}
});

test('with the network cut, the app and its history open from the device; what is written then goes out once the network is back', async ({ baseURL }) => {
	const browser = await launch();
	try {
		const [laptop, phone] = (await linkedDevices(browser, baseURL!, ['Phone'])) as [TestDevice, TestDevice];
		await openSelfChat(laptop.page);
		await send(laptop.page, 'before the network went');
		await expect(laptop.page.getByTestId('sync')).toHaveText('History synced');
		await phone.page.close();

		await laptop.context.setOffline(true);
		await laptop.page.reload();
		await expect(laptop.page.getByTestId('messages')).toContainText('before the network went');
		await expect(laptop.page.getByTestId('network')).toHaveText('Offline: messages are kept and sent when your devices meet again');
		await send(laptop.page, 'written with no network');
		await expect(laptop.page.getByTestId('undelivered')).toBeVisible();
		// Closed and opened again with no network: still there, still waiting.
		await laptop.page.reload();
		await expect(laptop.page.getByTestId('messages')).toContainText('written with no network');
		await expect(laptop.page.getByTestId('undelivered')).toBeVisible();

		await laptop.context.setOffline(false);
		await expect(laptop.page.getByTestId('network')).toHaveText('Online', { timeout: 30_000 });
		await expect(laptop.page.getByTestId('undelivered')).toHaveCount(0, { timeout: 30_000 });
		await laptop.page.close();
		// The phone, opened alone afterwards, finds it in the mailbox.
		const phoneAgain = await phone.context.newPage();
		await phoneAgain.goto('/chat?id=self');
		await expect(phoneAgain.getByTestId('messages')).toContainText('written with no network');
	} finally {
		await browser.close();
	}
});
