/**
 * The account room is a capability (src/lib/transport/signaling-protocol.ts): its id is the hash of
 * the epoch's room key, and the mailbox takes deposits and takes only signed by that key. Someone
 * who learned the room id (the server operator, a former device, a listener on the LAN) can join
 * the room and see what waits, but can neither delete it, overwrite it nor fill the room with his own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { epochKeys, newEpochSecret, roomKeys } from '../../src/lib/identity/epochs';
import { INTRODUCTION_ENTRY_ID } from '../../src/lib/protocol/mailbox-entry';
import type { Session } from '../../src/lib/session';
import { MemoryNetwork } from '../../src/lib/transport/memory';
import { roomIdForKey } from '../../src/lib/transport/signaling-protocol';
import type { MailboxEntry, RoomAuth } from '../../src/lib/transport/types';
import { linkedAccount, texts, until } from '../helpers/devices';
import { keyedRoom } from '../helpers/rooms';

const open: Session[] = [];
afterEach(async () => {
	await Promise.all(open.splice(0).map((session) => session.close()));
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a transport joining `room` (with `auth`, if given) is handed from the mailbox. */
async function mailboxOf(network: MemoryNetwork, room: string, auth?: RoomAuth): Promise<MailboxEntry[]> {
	const probe = network.transport(room, auth);
	const seen: MailboxEntry[] = [];
	probe.on('mailbox', (entries) => seen.push(...entries));
	probe.connect();
	await pause(20);
	probe.close();
	return seen;
}

const snapshot = (entries: MailboxEntry[]) => entries.map(({ id, data }) => `${id}:${Buffer.from(data).toString('hex')}`).sort();

describe('the account mailbox answers only to the room key', () => {
	it('derives each day’s room id from that day’s room key, which only the epoch secret gives', () => {
		const secret = newEpochSecret();
		const keys = roomKeys(epochKeys({ epoch: 3, secret }), 20_000);
		expect(keys.room).toMatch(/^[0-9a-f]{32}$/);
		expect(roomIdForKey(keys.roomAuth.publicKey)).toBe(keys.room);
		expect(roomKeys(epochKeys({ epoch: 3, secret }), 20_000).room).toBe(keys.room);
		// Another day, another epoch, another secret: another room, none derivable from the others.
		expect(roomKeys(epochKeys({ epoch: 3, secret }), 20_001).room).not.toBe(keys.room);
		expect(roomKeys(epochKeys({ epoch: 4, secret }), 20_000).room).not.toBe(keys.room);
		expect(roomKeys(epochKeys({ epoch: 3, secret: newEpochSecret() }), 20_000).room).not.toBe(keys.room);
	});

	it('an intruder who knows the room id cannot take, overwrite or add entries; the phone still receives them', async () => {
		const network = new MemoryNetwork();
		const [primary, phone] = await linkedAccount(network, 1);
		open.push(primary!, phone!);
		const keys = primary!.meetingRoom;

		// The phone is away: what the laptop writes waits in the mailbox.
		primary!.connect();
		await primary!.chats.send('self', 'for the phone');
		await until([primary!], () => primary!.connection.network === 'online' && !primary!.connection.undelivered);
		primary!.disconnect();
		const before = await mailboxOf(network, keys.room, keys.roomAuth);
		expect(before.length).toBeGreaterThan(1);

		const strangers = [
			network.transport(keys.room),
			// A key of its own, or another account's: neither hashes to this room.
			network.transport(keys.room, keyedRoom().auth),
			network.transport(keys.room, roomKeys(epochKeys({ epoch: keys.epoch, secret: newEpochSecret() }), keys.day).roomAuth)
		];
		let refusals = 0;
		for (const intruder of strangers) {
			const seen: MailboxEntry[] = [];
			intruder.on('mailbox', (entries) => seen.push(...entries));
			intruder.connect();
			await pause(20);
			// Joining is allowed, and the sealed entries are handed out: it knows every id.
			expect(snapshot(seen)).toEqual(snapshot(before));
			const ids = seen.map((entry) => entry.id);
			intruder.mailbox.take(ids);
			for (const id of ids) expect(await intruder.mailbox.deposit({ id, data: new Uint8Array(80) }), `overwrite ${id}`).toBe(false);
			expect(await intruder.mailbox.deposit({ id: 'intruder-0001', data: new Uint8Array(80) })).toBe(false);
			intruder.close();
			refusals += 1 + ids.length + 1;
		}
		expect(network.mailboxRefusals).toBe(refusals);
		expect(snapshot(await mailboxOf(network, keys.room, keys.roomAuth))).toEqual(snapshot(before));

		phone!.connect();
		await until([phone!], () => texts(phone!).includes('for the phone'));
		expect(phone!.connection.peers).toBe(0);
		expect(phone!.mailboxRejected).toBe(0);
		// The phone holds the key: its take went through, and only the introduction stays for others.
		await pause(20);
		expect((await mailboxOf(network, keys.room, keys.roomAuth)).map((entry) => entry.id)).toEqual([INTRODUCTION_ENTRY_ID]);
		expect(network.mailboxRefusals).toBe(refusals);
	});
});
