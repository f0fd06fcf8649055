import { expect, test } from '@playwright/test';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../signaling/log';
import { startSignalingServer } from '../../signaling/server';
import { startTurnServer } from '../helpers/turn';
import { launch, linkedDevices, openSelfChat, send, type TestDevice } from './devices';

// A server of this test's own, set to relay only, next to the one playwright.config.ts starts.
const PORT = Number(process.env.SAMEN_TEST_PORT ?? 4391) + 2;
const staticDir = fileURLToPath(new URL('../../build', import.meta.url));

/** An address Chromium will use for ICE (it leaves loopback out): the veth inside netns-run. */
function routableAddress(): string {
	for (const addresses of Object.values(networkInterfaces())) {
		for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
	}
	throw new Error('no non-loopback IPv4 address to run the TURN server on');
}

test('with the server set to relay only, two browsers link and talk through a real TURN server', async () => {
	const turn = await startTurnServer({ host: routableAddress() });
	const server = await startSignalingServer({
		port: PORT,
		host: '0.0.0.0',
		staticDir,
		log: silentLogger,
		iceServers: [turn.iceServer],
		iceTransportPolicy: 'relay'
	});
	const baseURL = `http://localhost:${PORT}`;
	const browser = await launch();
	try {
		const [primary, phone] = (await linkedDevices(browser, baseURL, ['Phone'])) as [TestDevice, TestDevice];
		await openSelfChat(primary.page);
		await openSelfChat(phone.page);
		await expect(phone.page.getByTestId('peers')).toHaveText('1 other device connected');
		await send(primary.page, 'through the relay');
		await expect(phone.page.getByTestId('messages')).toContainText('through the relay');
		await send(phone.page, 'and back');
		await expect(primary.page.getByTestId('messages')).toContainText('and back');
		// The bytes went through coturn: its allocations report what they relayed once they end.
		await browser.close();
		await expect.poll(() => turn.peerUsage().sentToPeers, { timeout: 15_000 }).toBeGreaterThan(0);
	} finally {
		await browser.close();
		await server.close();
		await turn.stop();
	}
});
