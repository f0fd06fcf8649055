import { afterEach, describe, expect, it } from 'vitest';
import {
	decodeLinkPayload,
	encodeLinkPayload,
	LINK_TTL_MS,
	LinkApproval,
	LinkError,
	LinkInvitation,
	linkUrl,
	type LinkState
} from '../../src/lib/account/link';
import { Device, type AccountBundle } from '../../src/lib/device';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { memoryPlatform, texts, until } from '../helpers/devices';

const open: Device[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((device) => device.close()));
});

function nextState(emitter: { state: LinkState; on(event: 'state', listener: (state: LinkState) => void): () => void }, kind: LinkState['kind']): Promise<LinkState> {
	return new Promise((resolve) => {
		if (emitter.state.kind === kind) return resolve(emitter.state);
		const stop = emitter.on('state', (state) => {
			if (state.kind === kind) {
				stop();
				resolve(state);
			}
		});
	});
}

async function primaryWithHistory(network: MemoryNetwork): Promise<Device> {
	const primary = await Device.createAccount(memoryPlatform(network), 'Ada', 'Laptop');
	open.push(primary);
	await primary.sendMessage('self', 'older message');
	return primary;
}

describe('link payload', () => {
	it('round-trips and is found inside a link', () => {
		const payload = { room: new Uint8Array(16).fill(1), publicKey: new Uint8Array(32).fill(2), secret: new Uint8Array(16).fill(3), expiresAt: 1_800_000_000_000 };
		const text = encodeLinkPayload(payload);
		expect(decodeLinkPayload(text)).toEqual(payload);
		expect(decodeLinkPayload(linkUrl('https://samen.example', text))).toEqual(payload);
	});

	it.each(['', 'hello', 'https://example.com/#abc', 'samen1.', 'samen1.!!!!', 'samen1.AAAA', 'samen2.' + 'A'.repeat(92)])(
		'rejects %j as not ours',
		(text) => {
			expect(() => decodeLinkPayload(text)).toThrow(new LinkError('not-ours'));
		}
	);
});

describe('linking a device', () => {
	it('hands over the account after the user confirms the same code, and history follows', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const platform = memoryPlatform(network);
		const invitation = new LinkInvitation('Phone', platform.transport, platform.clock);
		const bundle = new Promise<AccountBundle>((resolve) => invitation.on('bundle', resolve));
		invitation.start();
		const approval = new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => Date.now());
		approval.start();
		const [onPrimary, onNew] = await Promise.all([nextState(approval, 'confirm'), nextState(invitation, 'confirm')]);
		expect(onPrimary.kind === 'confirm' && onPrimary.code).toMatch(/^\d{6}$/);
		expect(onPrimary).toEqual({ ...onNew, kind: 'confirm' });
		approval.confirm();
		const phone = await Device.joinAccount(platform, await bundle);
		open.push(phone);
		await nextState(approval, 'linked');
		await nextState(invitation, 'linked');
		primary.connect();
		phone.connect();
		await until([phone], () => texts(phone).includes('older message'));
		expect(phone.accountName).toBe('Ada');
		expect(phone.devices.map((d) => [d.name, d.role])).toEqual([
			['Laptop', 'primary'],
			['Phone', 'companion']
		]);
		await phone.sendMessage('self', 'hello from the phone');
		await until([primary], () => texts(primary).includes('hello from the phone'));
	});

	it('changes nothing when the user declines', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const platform = memoryPlatform(network);
		const invitation = new LinkInvitation('Phone', platform.transport, platform.clock);
		invitation.start();
		const approval = new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => Date.now());
		approval.start();
		await nextState(approval, 'confirm');
		approval.decline();
		expect(await nextState(invitation, 'failed')).toEqual({ kind: 'failed', error: 'declined' });
		expect(primary.devices.length).toBe(1);
	});

	it('refuses an expired code on both sides', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		let now = Date.now();
		const invitation = new LinkInvitation('Phone', (room) => network.transport(room), () => now);
		const failed = nextState(invitation, 'failed');
		invitation.start();
		now += LINK_TTL_MS + 1000;
		expect(() => new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => now)).toThrow(
			new LinkError('expired')
		);
		invitation.cancel();
		expect(await failed).toEqual({ kind: 'failed', error: 'expired' });
	});

	it('expires on its own after two minutes on the new device', async () => {
		const network = new MemoryNetwork();
		const { vi } = await import('vitest');
		vi.useFakeTimers();
		try {
			const invitation = new LinkInvitation('Phone', (room) => network.transport(room), () => Date.now());
			invitation.start();
			vi.advanceTimersByTime(LINK_TTL_MS - 1000);
			expect(invitation.state.kind).toBe('waiting');
			vi.advanceTimersByTime(1000);
			expect(invitation.state).toEqual({ kind: 'failed', error: 'expired' });
		} finally {
			vi.useRealTimers();
		}
	});

	it('works once: a second primary with the same code is refused', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const other = await Device.createAccount(memoryPlatform(network), 'Eve', 'Eve laptop');
		open.push(other);
		const platform = memoryPlatform(network);
		const invitation = new LinkInvitation('Phone', platform.transport, platform.clock);
		invitation.start();
		const first = new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => Date.now());
		first.start();
		await nextState(first, 'confirm');
		const second = new LinkApproval(invitation.payload, other, (room) => network.transport(room), () => Date.now());
		second.start();
		expect(await nextState(second, 'failed')).toEqual({ kind: 'failed', error: 'used' });
		expect(other.devices.length).toBe(1);
	});

	it('refuses a fifth companion', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		for (let i = 0; i < 4; i++) primary.addDevice({ id: `d${i}`, name: `Device ${i}`, role: 'companion', linkedAt: i });
		const invitation = new LinkInvitation('Phone', (room) => network.transport(room), () => Date.now());
		expect(() => new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => Date.now())).toThrow(
			new LinkError('too-many-devices')
		);
		invitation.cancel();
	});

	it('only a primary links devices', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const companion = await Device.joinAccount(memoryPlatform(network), {
			accountName: 'Ada',
			key: { secret: Buffer.from(primary.accountKey.secret).toString('base64url'), epoch: 1 },
			deviceId: 'c1',
			deviceName: 'Tablet'
		});
		open.push(companion);
		const invitation = new LinkInvitation('Phone', (room) => network.transport(room), () => Date.now());
		expect(() => new LinkApproval(invitation.payload, companion, (room) => network.transport(room), () => Date.now())).toThrow(
			new LinkError('not-primary')
		);
		invitation.cancel();
	});

	it('a primary without the QR secret cannot get past the new device', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const invitation = new LinkInvitation('Phone', (room) => network.transport(room), () => Date.now());
		invitation.start();
		const payload = decodeLinkPayload(invitation.payload);
		payload.secret = new Uint8Array(16);
		const forged = encodeLinkPayload(payload);
		const approval = new LinkApproval(forged, primary, (room) => network.transport(room), () => Date.now());
		approval.start();
		await new Promise((r) => setTimeout(r, 50));
		expect(invitation.state.kind).toBe('waiting');
		expect(approval.state.kind).toBe('waiting');
		approval.decline();
		invitation.cancel();
	});
});
