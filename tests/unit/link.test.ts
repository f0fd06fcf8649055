import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateAgreementKeyPair } from '../../src/lib/crypto';
import { LinkApproval } from '../../src/lib/linking/approval';
import { LinkInvitation } from '../../src/lib/linking/invitation';
import type { LinkState } from '../../src/lib/linking/state';
import {
	decodeLinkPayload,
	encodeLinkPayload,
	LINK_REFUSED,
	LINK_TTL_MS,
	LinkError,
	linkUrl,
	writeTagged,
	carriesLinkPayload
} from '../../src/lib/protocol/link';
import { deviceIdOf } from '../../src/lib/protocol/trust';
import { Session, type JoinedAccount } from '../../src/lib/session';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { linkedAccount, memoryPlatform, nextState, texts, until } from '../helpers/devices';

const open: Session[] = [];
afterEach(async () => {
	vi.useRealTimers();
	await Promise.all(open.splice(0).map((session) => session.close()));
});

async function primaryWithHistory(network: MemoryNetwork, clock = () => Date.now()): Promise<Session> {
	const primary = await Session.createAccount(memoryPlatform(network, clock), 'Ada', 'Laptop');
	open.push(primary);
	await primary.chats.send('self', 'older message');
	return primary;
}

function startLink(network: MemoryNetwork, primary: Session, name = 'Phone', clock = () => Date.now()) {
	const platform = memoryPlatform(network, clock);
	const invitation = new LinkInvitation(name, 'phone', platform.transport, clock);
	let joined: JoinedAccount | undefined;
	invitation.on('joined', (account) => (joined = account));
	invitation.start();
	const approval = new LinkApproval(invitation.payload, primary, (room) => network.transport(room), clock);
	approval.start();
	return { platform, invitation, approval, joined: () => joined };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('link payload', () => {
	it('round-trips and is found inside a link', () => {
		const payload = { room: new Uint8Array(16).fill(1), publicKey: new Uint8Array(32).fill(2), secret: new Uint8Array(16).fill(3), expiresAt: 1_800_000_000_000 };
		const text = encodeLinkPayload(payload);
		expect(decodeLinkPayload(text)).toEqual(payload);
		expect(decodeLinkPayload(linkUrl('https://samen.example', text))).toEqual(payload);
		expect(carriesLinkPayload('#' + text)).toBe(true);
		expect(carriesLinkPayload('#section')).toBe(false);
	});

	it.each(['', 'hello', 'https://example.com/#abc', 'samen2.', 'samen2.!!!!', 'samen2.AAAA', 'samen1.' + 'A'.repeat(92), 'samen2.' + 'A'.repeat(200)])(
		'rejects %j as not ours',
		(text) => {
			expect(() => decodeLinkPayload(text)).toThrow(new LinkError('not-ours'));
		}
	);
});

describe('linking a device', () => {
	it('hands over the account once both users confirmed the same code, and history follows', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const { platform, invitation, approval, joined } = startLink(network, primary);
		const [onPrimary, onNew] = await Promise.all([nextState(approval, 'confirm'), nextState(invitation, 'confirm')]);
		expect(onPrimary.kind === 'confirm' && onPrimary.code).toMatch(/^\d{6}$/);
		expect(onPrimary).toEqual(onNew);
		approval.confirm();
		await settle();
		// The primary's user alone cannot hand the account over: the new device's user must confirm too.
		expect(joined()).toBeUndefined();
		expect(primary.devices).toHaveLength(1);
		invitation.confirm();
		await nextState(approval, 'linked');
		await nextState(invitation, 'linked');
		const phone = await Session.join(platform, joined()!);
		open.push(phone);
		// The primary listed the new device under the id its own key derives, not one it chose.
		const keys = joined()!.keys;
		expect(primary.devices.map((d) => d.id)).toContain(deviceIdOf(keys.signing.publicKey, keys.agreement.publicKey));
		expect(phone.self.id).toBe(keys.id);
		primary.connect();
		phone.connect();
		await until([phone], () => texts(phone).includes('older message'));
		expect(phone.accountName).toBe('Ada');
		expect(phone.devices.map((d) => [d.name, d.role, d.kind])).toEqual([
			['Laptop', 'primary', 'computer'],
			['Phone', 'companion', 'phone']
		]);
		await phone.chats.send('self', 'hello from the phone');
		await until([primary], () => texts(primary).includes('hello from the phone'));
	});

	it('gives a device with a name the account already has a distinct one', async () => {
		const network = new MemoryNetwork();
		const [primary] = await linkedAccount(network, 1);
		open.push(primary!);
		const { invitation, approval } = startLink(network, primary!, 'Phone 1');
		await nextState(approval, 'confirm');
		invitation.confirm();
		approval.confirm();
		await nextState(approval, 'linked');
		expect(primary!.devices.map((d) => d.name)).toEqual(['Laptop', 'Phone 1', 'Phone 1 2']);
	});

	it('changes nothing when the primary declines', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const { invitation, approval, joined } = startLink(network, primary);
		await nextState(approval, 'confirm');
		invitation.confirm();
		approval.decline();
		expect(await nextState(invitation, 'failed')).toEqual({ kind: 'failed', error: 'declined' });
		expect(primary.devices).toHaveLength(1);
		expect(joined()).toBeUndefined();
	});

	it('changes nothing when the new device declines', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const { invitation, approval } = startLink(network, primary);
		await nextState(invitation, 'confirm');
		approval.confirm();
		invitation.cancel();
		expect(await nextState(approval, 'failed')).toEqual({ kind: 'failed', error: 'declined' });
		expect(primary.devices).toHaveLength(1);
	});

	it('refuses an expired code at once on the primary', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		let now = Date.now();
		const invitation = new LinkInvitation('Phone', 'phone', (room) => network.transport(room), () => now);
		invitation.start();
		now += LINK_TTL_MS + 1000;
		expect(() => new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => now)).toThrow(new LinkError('expired'));
		invitation.cancel();
	});

	it('expires on its own after two minutes on the new device', () => {
		const network = new MemoryNetwork();
		vi.useFakeTimers();
		const invitation = new LinkInvitation('Phone', 'phone', (room) => network.transport(room), () => Date.now());
		invitation.start();
		vi.advanceTimersByTime(LINK_TTL_MS - 1000);
		expect(invitation.state.kind).toBe('waiting');
		vi.advanceTimersByTime(1000);
		expect(invitation.state).toEqual({ kind: 'failed', error: 'expired' });
	});

	it('fails on both sides when the invitation expires in the middle of the handshake', async () => {
		const network = new MemoryNetwork();
		let now = Date.now();
		const clock = () => now;
		const primary = await primaryWithHistory(network, clock);
		const { invitation, approval, joined } = startLink(network, primary, 'Phone', clock);
		await Promise.all([nextState(approval, 'confirm'), nextState(invitation, 'confirm')]);
		now += LINK_TTL_MS + 1000;
		invitation.confirm();
		approval.confirm();
		expect(await nextState(invitation, 'failed')).toEqual({ kind: 'failed', error: 'expired' });
		expect(await nextState(approval, 'failed')).toEqual({ kind: 'failed', error: 'expired' });
		expect(joined()).toBeUndefined();
		expect(primary.devices).toHaveLength(1);
	});

	it('takes the new device off the list again when the link fails after the primary listed it', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		let newDeviceNow = Date.now();
		const platform = memoryPlatform(network);
		const invitation = new LinkInvitation('Phone', 'phone', platform.transport, () => newDeviceNow);
		invitation.start();
		const approval = new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => Date.now());
		approval.start();
		await Promise.all([nextState(approval, 'confirm'), nextState(invitation, 'confirm')]);
		invitation.confirm();
		await settle();
		approval.confirm();
		// The primary listed the device and sent the account; on the new device the code ran out meanwhile.
		expect(primary.devices).toHaveLength(2);
		newDeviceNow += LINK_TTL_MS + 1000;
		expect(await nextState(invitation, 'failed')).toEqual({ kind: 'failed', error: 'expired' });
		expect(await nextState(approval, 'failed')).toEqual({ kind: 'failed', error: 'expired' });
		expect(primary.devices).toHaveLength(1);
		expect(primary.trust.deviceList.former.map((device) => device.name)).toEqual(['Phone']);
		expect(primary.trust.currentEpoch.epoch).toBe(2);
	});

	it('works once: a second primary with the same code is refused, by a refusal that needs the code’s secret', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const other = await Session.createAccount(memoryPlatform(network), 'Eve', 'Eve laptop');
		open.push(other);
		const { invitation, approval: first } = startLink(network, primary);
		await nextState(first, 'confirm');
		const second = new LinkApproval(invitation.payload, other, (room) => network.transport(room), () => Date.now());
		second.start();
		expect(await nextState(second, 'failed')).toEqual({ kind: 'failed', error: 'used' });
		expect(other.devices).toHaveLength(1);
		expect(first.state.kind).toBe('confirm');
	});

	it('ignores a refusal from someone in the room who does not know the code', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const invitation = new LinkInvitation('Phone', 'phone', (room) => network.transport(room), () => Date.now());
		const payload = decodeLinkPayload(invitation.payload);
		// The server knows the room; it does not know the secret: its REFUSED carries a wrong tag.
		const eavesdropper = network.transport(Buffer.from(payload.room).toString('hex'));
		eavesdropper.connect();
		const approval = new LinkApproval(invitation.payload, primary, (room) => network.transport(room), () => Date.now());
		approval.start();
		await settle();
		for (const peer of eavesdropper.peers) {
			eavesdropper.send(peer, writeTagged(LINK_REFUSED, new Uint8Array(16), generateAgreementKeyPair().publicKey, payload.publicKey));
			eavesdropper.send(peer, new Uint8Array([LINK_REFUSED]));
		}
		await settle();
		expect(approval.state.kind).toBe('waiting');
		invitation.start();
		expect((await nextState(approval, 'confirm')).kind).toBe('confirm');
		approval.decline();
	});

	it('refuses a fifth companion on both screens before anything is sent', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 4);
		open.push(...sessions);
		const primary = sessions[0]!;
		expect(primary.isFull).toBe(true);
		const { invitation, approval, joined } = startLink(network, primary, 'Fifth');
		expect(approval.state).toEqual({ kind: 'failed', error: 'too-many-devices' });
		expect(await nextState(invitation, 'failed')).toEqual({ kind: 'failed', error: 'too-many-devices' });
		expect(joined()).toBeUndefined();
		expect(primary.devices).toHaveLength(5);
	});

	it('of two links racing for the last free slot, exactly one succeeds', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 3);
		open.push(...sessions);
		const primary = sessions[0]!;
		const a = startLink(network, primary, 'Tablet A');
		const b = startLink(network, primary, 'Tablet B');
		await Promise.all([nextState(a.approval, 'confirm'), nextState(b.approval, 'confirm')]);
		a.invitation.confirm();
		b.invitation.confirm();
		await settle();
		a.approval.confirm();
		b.approval.confirm();
		const outcomes = await Promise.all(
			[a, b].map(
				(link) =>
					new Promise<LinkState>((resolve) => {
						const check = () => (link.invitation.state.kind === 'linked' || link.invitation.state.kind === 'failed' ? resolve(link.invitation.state) : undefined);
						link.invitation.on('state', check);
						check();
					})
			)
		);
		expect(outcomes.map((state) => state.kind).sort()).toEqual(['failed', 'linked']);
		expect(outcomes.find((state) => state.kind === 'failed')).toEqual({ kind: 'failed', error: 'too-many-devices' });
		expect(primary.devices).toHaveLength(5);
		expect([a.joined(), b.joined()].filter(Boolean)).toHaveLength(1);
	});

	it('only a primary links devices', async () => {
		const network = new MemoryNetwork();
		const sessions = await linkedAccount(network, 1);
		open.push(...sessions);
		const invitation = new LinkInvitation('Phone', 'phone', (room) => network.transport(room), () => Date.now());
		expect(() => new LinkApproval(invitation.payload, sessions[1]!, (room) => network.transport(room), () => Date.now())).toThrow(new LinkError('not-primary'));
		invitation.cancel();
	});

	it('a primary without the QR secret cannot get past the new device', async () => {
		const network = new MemoryNetwork();
		const primary = await primaryWithHistory(network);
		const invitation = new LinkInvitation('Phone', 'phone', (room) => network.transport(room), () => Date.now());
		invitation.start();
		const payload = decodeLinkPayload(invitation.payload);
		payload.secret = new Uint8Array(16);
		const approval = new LinkApproval(encodeLinkPayload(payload), primary, (room) => network.transport(room), () => Date.now());
		approval.start();
		await settle();
		expect(invitation.state.kind).toBe('waiting');
		expect(approval.state.kind).toBe('waiting');
		approval.decline();
		invitation.cancel();
	});
});
