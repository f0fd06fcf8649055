/**
 * Other accounts as this account knows them (and its own, so that records of its own devices are
 * checked the same way): each account's key, the newest signed device list seen of it, and every
 * device key it ever listed, so that messages of a device it later removed stay readable.
 * Kept in the account document's `people` map, so every device of the account knows the same
 * people; written only after the list's signature was checked against the account's key.
 *
 *   people: accountId → { key, list, name, contact, verified, addedAt, devices: { deviceId → signKey } }   (base64url)
 *
 * The newest list decides who is admitted to a chat room now; `devices` only decides whose old
 * signatures are still good. Each newer list that adds or removes devices leaves a notice, shown as a
 * line in the chats with that account ("Bram linked a new device"):
 *
 *   deviceNotices: "<accountId>/<list version>" → { account, at, added, removed }   (device counts)
 */
import * as Y from 'yjs';
import { fromBase64Url, toBase64Url } from '../crypto';
import { accountIdOf, readIntroduction, readSignedDeviceList, type DeviceList, type ListedDevice } from '../protocol/trust';
import { Emitter } from '../util/emitter';

/** Former device keys kept per account: more than an account can list over a long life. */
const MAX_KNOWN_DEVICES = 64;

export interface PersonEntry {
	key: string;
	list: string;
	name: string;
	contact: boolean;
	verified: boolean;
	addedAt: number;
	devices: Record<string, string>;
	/** Devices the account took off its list, with the time of the list that did (its `issuedAt`). */
	removed?: Record<string, number>;
}

export interface Person {
	accountId: string;
	accountKey: Uint8Array;
	list: DeviceList;
	name: string;
	contact: boolean;
	verified: boolean;
	addedAt: number;
}

export type DeviceChange = { accountId: string; added: ListedDevice[]; removed: ListedDevice[] };

export type PeopleEvents = { 'devices-changed': DeviceChange };

export interface DeviceNotice {
	account: string;
	/** When this account learnt of the change. */
	at: number;
	added: number;
	removed: number;
}

export function deviceNoticesMap(doc: Y.Doc): Y.Map<DeviceNotice> {
	return doc.getMap<DeviceNotice>('deviceNotices');
}

export function peopleMap(doc: Y.Doc): Y.Map<PersonEntry> {
	return doc.getMap<PersonEntry>('people');
}

export class People extends Emitter<PeopleEvents> {
	/** The account id of each parsed list (a hash of its key), worked out once. */
	private readonly accountIds = new WeakMap<DeviceList, string>();
	/** Parsed lists by their base64url text: a list is read and checked once. */
	private readonly parsed = new Map<string, DeviceList>();

	constructor(
		private readonly account: Y.Doc,
		readonly ownAccountId: string,
		private readonly clock: () => number = () => Date.now()
	) {
		super();
		// Another own device adopted a newer list of someone: the change shows here too.
		peopleMap(account).observe((event) => {
			if (event.transaction.local) return;
			for (const accountId of event.keysChanged) {
				const before = event.changes.keys.get(accountId)?.oldValue as PersonEntry | undefined;
				const after = peopleMap(account).get(accountId);
				if (before && after && before.list !== after.list) this.announce(accountId, this.listOf(before), this.listOf(after));
			}
		});
	}

	private listOf(entry: PersonEntry | undefined): DeviceList | undefined {
		if (!entry || typeof entry.list !== 'string') return undefined;
		return this.readList(entry.list);
	}

	/**
	 * The signed device list `text` (base64url) holds, its signature checked once per text: every
	 * session in every room introduces itself with the same list. Undefined when it is not one.
	 */
	readList(text: string): DeviceList | undefined {
		let list = this.parsed.get(text);
		if (!list) {
			try {
				list = readSignedDeviceList(fromBase64Url(text));
			} catch {
				return undefined;
			}
			if (this.parsed.size > 256) this.parsed.clear();
			this.parsed.set(text, list);
		}
		return list;
	}

	private accountIdOfList(list: DeviceList): string {
		let accountId = this.accountIds.get(list);
		if (accountId === undefined) this.accountIds.set(list, (accountId = accountIdOf(list.accountKey)));
		return accountId;
	}

	get(accountId: string): Person | undefined {
		const entry = peopleMap(this.account).get(accountId);
		const list = this.listOf(entry);
		if (!entry || !list || this.accountIdOfList(list) !== accountId) return undefined;
		return {
			accountId,
			accountKey: list.accountKey,
			list,
			name: typeof entry.name === 'string' ? entry.name : '',
			contact: entry.contact === true,
			verified: entry.verified === true,
			addedAt: typeof entry.addedAt === 'number' ? entry.addedAt : 0
		};
	}

	/** The accounts this account added as contacts, by name. */
	get contacts(): Person[] {
		const result: Person[] = [];
		for (const accountId of peopleMap(this.account).keys()) {
			const person = this.get(accountId);
			if (person?.contact && accountId !== this.ownAccountId) result.push(person);
		}
		return result.sort((a, b) => a.name.localeCompare(b.name) || (a.accountId < b.accountId ? -1 : 1));
	}

	/**
	 * Adopts `listBytes` when it is signed by its account key, that key is `expectedKey` (when given)
	 * and it is newer than the list known; returns the account id, or undefined when refused.
	 * An equal or older list changes nothing but is not refused.
	 */
	consider(listBytes: Uint8Array, expectedKey?: Uint8Array, name?: string): string | undefined {
		const text = toBase64Url(listBytes);
		const list = this.readList(text);
		if (!list) return undefined;
		if (expectedKey && toBase64Url(expectedKey) !== toBase64Url(list.accountKey)) return undefined;
		const accountId = this.accountIdOfList(list);
		const map = peopleMap(this.account);
		const entry = map.get(accountId);
		const known = this.listOf(entry);
		if (known && known.version >= list.version) {
			if (name && entry && entry.name !== name && accountId !== this.ownAccountId) map.set(accountId, { ...entry, name });
			return accountId;
		}
		const devices: Record<string, string> = { ...(entry?.devices ?? {}) };
		for (const device of list.devices) devices[device.id] = toBase64Url(device.signKey);
		const removed: Record<string, number> = { ...(entry?.removed ?? {}) };
		for (const device of known?.devices ?? []) if (!list.devices.some((now) => now.id === device.id)) removed[device.id] = list.issuedAt;
		const ids = Object.keys(devices);
		for (const id of ids.slice(0, Math.max(0, ids.length - MAX_KNOWN_DEVICES))) delete devices[id];
		map.set(accountId, {
			key: toBase64Url(list.accountKey),
			list: text,
			name: name ?? entry?.name ?? '',
			contact: entry?.contact ?? false,
			verified: entry?.verified ?? false,
			addedAt: entry?.addedAt ?? 0,
			devices,
			removed
		});
		if (known) {
			const added = list.devices.filter((device) => !known.devices.some((old) => old.id === device.id)).length;
			const removed = known.devices.filter((device) => !list.devices.some((now) => now.id === device.id)).length;
			if ((added > 0 || removed > 0) && accountId !== this.ownAccountId) {
				deviceNoticesMap(this.account).set(`${accountId}/${list.version}`, { account: accountId, at: this.clock(), added, removed });
			}
			this.announce(accountId, known, list);
		}
		return accountId;
	}

	/** The device list inside an introduction (peer sessions, mailboxes, contact messages). */
	considerIntroduction(introduction: Uint8Array, expectedKey?: Uint8Array, name?: string): string | undefined {
		try {
			return this.consider(readIntroduction(introduction).deviceList, expectedKey, name);
		} catch {
			return undefined;
		}
	}

	private announce(accountId: string, before: DeviceList | undefined, after: DeviceList | undefined): void {
		if (!before || !after) return;
		const added = after.devices.filter((device) => !before.devices.some((old) => old.id === device.id));
		const removed = before.devices.filter((device) => !after.devices.some((now) => now.id === device.id));
		if (added.length > 0 || removed.length > 0) this.emit('devices-changed', { accountId, added, removed });
	}

	/** The device changes this account learnt of for `accountId`, oldest first. */
	deviceNotices(accountId: string): DeviceNotice[] {
		const result: DeviceNotice[] = [];
		for (const notice of deviceNoticesMap(this.account).values()) {
			if (notice?.account === accountId && typeof notice.at === 'number' && typeof notice.added === 'number' && typeof notice.removed === 'number') result.push(notice);
		}
		return result.sort((a, b) => a.at - b.at);
	}

	markContact(accountId: string, name: string, now: number): void {
		const map = peopleMap(this.account);
		const entry = map.get(accountId);
		if (!entry || accountId === this.ownAccountId) return;
		map.set(accountId, { ...entry, name: name || entry.name, contact: true, addedAt: entry.addedAt || now });
	}

	setVerified(accountId: string, verified: boolean): void {
		const map = peopleMap(this.account);
		const entry = map.get(accountId);
		if (entry && accountId !== this.ownAccountId) map.set(accountId, { ...entry, verified });
	}

	/** A device on the account's newest list, by its Noise static (agreement) key. */
	listedDevice(accountId: string, agreeKey: Uint8Array): ListedDevice | undefined {
		const key = toBase64Url(agreeKey);
		return this.get(accountId)?.list.devices.find((device) => toBase64Url(device.agreeKey) === key);
	}

	/** The signing key of a device the account lists or once listed. */
	signKeyOf(accountId: string, deviceId: string): Uint8Array | undefined {
		const listed = this.get(accountId)?.list.devices.find((device) => device.id === deviceId);
		if (listed) return listed.signKey;
		const known = peopleMap(this.account).get(accountId)?.devices?.[deviceId];
		if (typeof known !== 'string') return undefined;
		try {
			return fromBase64Url(known);
		} catch {
			return undefined;
		}
	}

	/** When the account took the device off its list, if it did and this account saw it. */
	removedAt(accountId: string, deviceId: string): number | undefined {
		const at = peopleMap(this.account).get(accountId)?.removed?.[deviceId];
		return typeof at === 'number' ? at : undefined;
	}

	/** Whether the device is on the account's newest list (a removed device writes nothing new). */
	isListed(accountId: string, deviceId: string): boolean {
		return !!this.get(accountId)?.list.devices.some((device) => device.id === deviceId);
	}
}
