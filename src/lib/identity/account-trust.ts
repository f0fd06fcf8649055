/**
 * What this device trusts about its account: the newest signed device list, the newest heartbeat of
 * the primary, the key epochs it holds, and the rules that follow from them. Only statements signed
 * by the account's identity key change any of it (../protocol/trust.ts); whatever else arrives is
 * refused and kept as a security event that the device list screen shows.
 *
 * The 14-day rule: a companion counts how long it has gone without a newer heartbeat. The count
 * starts at (now − heartbeat time) when a heartbeat is adopted and then only ever grows: by the
 * clock's advance between two looks, never by a negative amount. A clock set back therefore cannot
 * undo time already counted, and time passes for the count whenever the app runs, whatever the
 * clock says; a heartbeat stamped more than MAX_CLOCK_SKEW_MS ahead of this device's clock is
 * refused. See docs/PROTOCOL.md, "The 14-day rule".
 */
import { CryptoError, fromBase64Url, openSealed, sealTo, toBase64Url, constantTimeEqual } from '../crypto';
import {
	accountIdOf,
	deviceIdOf,
	epochBoxAssociated,
	MAX_DEVICE_NAME_LENGTH,
	MAX_FORMER_DEVICES,
	readIntroduction,
	readLeavingNote,
	readSignedDeviceList,
	readSignedHeartbeat,
	TrustFormatError,
	writeDeviceList,
	writeHeartbeat,
	writeIntroduction,
	writeLeavingNote,
	type DeviceKind,
	type DeviceList,
	type ListedDevice
} from '../protocol/trust';
import type { KeyValueStore } from '../storage/types';
import type { Clock } from '../util/clock';
import { Emitter } from '../util/emitter';
import type { DeviceKeys } from './device-keys';
import { epochKeys, newEpochSecret, type EpochKey, type EpochKeys } from './epochs';

export const MAX_LINKED_DEVICES = 4;
const DAY_MS = 24 * 60 * 60 * 1000;
export const PRIMARY_ABSENCE_LIMIT_MS = 14 * DAY_MS;
export const PRIMARY_ABSENCE_WARNING_MS = 12 * DAY_MS;
export const HEARTBEAT_INTERVAL_MS = 60 * 60 * 1000;
export const MAX_CLOCK_SKEW_MS = DAY_MS;
/** How long devices still meet in a former epoch's room, to hand the new list to devices that were away. */
export const HANDOVER_MS = 30 * DAY_MS;
const MAX_HANDOVER_EPOCHS = 3;
const MAX_SECURITY_EVENTS = 50;

/**
 * Why a device keeps nothing any more. 'link-unfinished' is the session's word for 'removed' while
 * the device still waited for its first history: the primary took it off again because the link did
 * not finish on its side (the connection was lost before the new device's last answer arrived).
 */
export type LogoutReason = 'removed' | 'primary-inactive' | 'self' | 'account-deleted' | 'link-unfinished';

export type SecurityEventKind =
	| 'unsigned-list'
	| 'foreign-list'
	| 'older-list'
	| 'conflicting-list'
	| 'bad-heartbeat'
	| 'foreign-heartbeat'
	| 'heartbeat-from-future'
	| 'unlisted-device'
	| 'forged-leaving-note';

export interface SecurityEvent {
	at: number;
	kind: SecurityEventKind;
}

export interface DeviceNotice {
	deviceId: string;
	name: string;
	linkedAt: number;
}

export interface AbsenceState {
	/** Milliseconds counted since the newest heartbeat (always 0 on the primary). */
	counted: number;
	/** Whole days left before this companion logs itself out; undefined on the primary. */
	daysLeft?: number;
	/** From day 12 on: the companion asks its user to open the primary. */
	warn: boolean;
}

export class LinkRefusal extends Error {
	constructor(readonly code: 'too-many-devices' | 'not-primary' | 'already-linked') {
		super(code);
		this.name = 'LinkRefusal';
	}
}

/** A new device as the link handshake describes it. */
export interface DeviceRequest {
	signKey: Uint8Array;
	agreeKey: Uint8Array;
	name: string;
	kind: DeviceKind;
}

interface TrustRecord {
	deviceList: string;
	heartbeat?: string;
	epochs: { epoch: number; secret: string; retiredAt?: number }[];
	absence: { heartbeatTime: number; counted: number; lastClock: number };
	nextListVersion: number;
	notices: DeviceNotice[];
	events: SecurityEvent[];
	loggedOut?: LogoutReason;
}

const RECORD = 'trust';

export type AccountTrustEvents = {
	/** The device list, the epoch or the heartbeat changed. */
	changed: void;
	/** Only what this device shows changed (notices seen): nothing to tell other devices. */
	shown: void;
	'logged-out': LogoutReason;
};

export class AccountTrust extends Emitter<AccountTrustEvents> {
	private list: DeviceList;
	private saving: Promise<void> = Promise.resolve();
	private retired = false;

	private constructor(
		private readonly records: KeyValueStore,
		private readonly keys: DeviceKeys,
		private readonly clock: Clock,
		private readonly record: TrustRecord
	) {
		super();
		this.list = readSignedDeviceList(fromBase64Url(record.deviceList));
	}

	/** The first device of a new account: its signing key becomes the account's identity key. */
	static async create(records: KeyValueStore, keys: DeviceKeys, clock: Clock, deviceName: string, kind: DeviceKind): Promise<AccountTrust> {
		const now = clock();
		const secret = newEpochSecret();
		const self: ListedDevice = {
			id: keys.id,
			signKey: keys.signing.publicKey,
			agreeKey: keys.agreement.publicKey,
			role: 'primary',
			kind,
			linkedAt: now,
			name: deviceName.slice(0, MAX_DEVICE_NAME_LENGTH) || 'Device'
		};
		const deviceList = issueList(keys, { version: 1, issuedAt: now, epoch: 1, devices: [self], former: [], deleted: false }, secret);
		const record: TrustRecord = {
			deviceList: toBase64Url(deviceList),
			epochs: [{ epoch: 1, secret: toBase64Url(secret) }],
			absence: { heartbeatTime: now, counted: 0, lastClock: now },
			nextListVersion: 2,
			notices: [],
			events: []
		};
		const trust = new AccountTrust(records, keys, clock, record);
		trust.writeHeartbeat();
		await trust.save();
		return trust;
	}

	/** A newly linked device, from the signed statements its link bundle carried. Throws TrustFormatError. */
	static async join(records: KeyValueStore, keys: DeviceKeys, clock: Clock, deviceList: Uint8Array, heartbeat: Uint8Array): Promise<AccountTrust> {
		const { list, secret } = checkJoin(keys, clock(), deviceList, heartbeat);
		const now = clock();
		const record: TrustRecord = {
			deviceList: toBase64Url(deviceList),
			epochs: [{ epoch: list.epoch, secret: toBase64Url(secret) }],
			absence: { heartbeatTime: 0, counted: 0, lastClock: now },
			nextListVersion: 0,
			notices: [],
			events: []
		};
		const trust = new AccountTrust(records, keys, clock, record);
		if (!trust.adoptHeartbeat(heartbeat)) throw new TrustFormatError('the link bundle carried no valid heartbeat');
		await trust.save();
		return trust;
	}

	static async restore(records: KeyValueStore, keys: DeviceKeys, clock: Clock): Promise<AccountTrust | undefined> {
		const record = await records.get<TrustRecord>(RECORD);
		return record ? new AccountTrust(records, keys, clock, record) : undefined;
	}

	get deviceList(): DeviceList {
		return this.list;
	}

	get accountKey(): Uint8Array {
		return this.list.accountKey;
	}

	get accountId(): string {
		// Asked for every topic a peer may see: hashed once per account key, not once per question.
		const key = this.list.accountKey;
		if (this.accountIdOfKey?.key !== key) this.accountIdOfKey = { key, id: accountIdOf(key) };
		return this.accountIdOfKey.id;
	}
	private accountIdOfKey?: { key: Uint8Array; id: string };

	get self(): ListedDevice | undefined {
		return this.list.devices.find((device) => device.id === this.keys.id);
	}

	get isPrimary(): boolean {
		return constantTimeEqual(this.keys.signing.publicKey, this.list.accountKey);
	}

	get loggedOut(): LogoutReason | undefined {
		return this.record.loggedOut;
	}

	get notices(): DeviceNotice[] {
		return this.record.notices;
	}

	get securityEvents(): SecurityEvent[] {
		return this.record.events;
	}

	get heartbeatTime(): number {
		return this.record.absence.heartbeatTime;
	}

	get currentEpoch(): EpochKeys {
		return epochKeys(this.epochKey(this.list.epoch));
	}

	/** Former epochs whose rooms this device still visits, to hand the newest list to devices that were away. */
	get handoverEpochs(): EpochKeys[] {
		const since = this.clock() - HANDOVER_MS;
		return this.record.epochs
			.filter((epoch) => epoch.epoch < this.list.epoch && (epoch.retiredAt ?? 0) >= since)
			.sort((a, b) => b.epoch - a.epoch)
			.slice(0, MAX_HANDOVER_EPOCHS)
			.map((epoch) => epochKeys({ epoch: epoch.epoch, secret: fromBase64Url(epoch.secret) }));
	}

	/** What this device tells each peer it meets: its newest device list and heartbeat. */
	introduction(): Uint8Array {
		return writeIntroduction({
			deviceList: fromBase64Url(this.record.deviceList),
			heartbeat: this.record.heartbeat ? fromBase64Url(this.record.heartbeat) : undefined
		});
	}

	deviceByAgreementKey(agreeKey: Uint8Array): ListedDevice | undefined {
		return this.list.devices.find((device) => constantTimeEqual(device.agreeKey, agreeKey));
	}

	/**
	 * Adopts whatever newer signed statements `introduction` carries; true when anything changed.
	 * `from` says where it came from: a peer that was away shows the older list it still holds, which
	 * is normal (it gets this device's newer one in turn); an older list in the mailbox, where only the
	 * primary writes the current room's introduction, is worth a security event.
	 */
	consider(introduction: Uint8Array, from: 'peer' | 'mailbox' = 'mailbox'): boolean {
		if (this.record.loggedOut) return false;
		// Devices that agree send this device its own introduction: nothing to verify again.
		if (constantTimeEqual(introduction, this.introduction())) return false;
		let parts;
		try {
			parts = readIntroduction(introduction);
		} catch {
			this.securityEvent('unsigned-list');
			return false;
		}
		const events = this.record.events.length;
		const listChanged = this.adoptDeviceList(parts.deviceList, from === 'mailbox');
		const heartbeatChanged = parts.heartbeat ? this.adoptHeartbeat(parts.heartbeat) : false;
		if (listChanged || heartbeatChanged || this.record.events.length !== events) void this.save();
		if (listChanged || heartbeatChanged) this.emit('changed', undefined);
		return listChanged || heartbeatChanged;
	}

	/** Records a peer that proved a key which is on no list this device trusts. */
	noteUnlistedDevice(): void {
		this.securityEvent('unlisted-device');
		void this.save();
	}

	private adoptDeviceList(bytes: Uint8Array, olderIsSuspect: boolean): boolean {
		let list: DeviceList;
		try {
			list = readSignedDeviceList(bytes);
		} catch {
			this.securityEvent('unsigned-list');
			return false;
		}
		if (!constantTimeEqual(list.accountKey, this.list.accountKey)) {
			this.securityEvent('foreign-list');
			return false;
		}
		if (list.version < this.list.version) {
			if (olderIsSuspect) this.securityEvent('older-list');
			return false;
		}
		if (list.version === this.list.version) {
			if (!constantTimeEqual(bytes, fromBase64Url(this.record.deviceList))) this.securityEvent('conflicting-list');
			return false;
		}
		if (list.epoch < this.list.epoch) {
			this.securityEvent('conflicting-list');
			return false;
		}
		if (!list.devices.some((device) => device.id === this.keys.id)) {
			// Not adopted: this device holds no secret of the list's epoch and is about to keep nothing.
			this.logOut(list.deleted ? 'account-deleted' : 'removed');
			return true;
		}
		if (list.epoch > this.list.epoch) {
			let secret: Uint8Array;
			try {
				secret = openEpochBox(list, this.keys);
			} catch {
				this.securityEvent('conflicting-list');
				return false;
			}
			const now = this.clock();
			for (const epoch of this.record.epochs) epoch.retiredAt ??= now;
			this.record.epochs.push({ epoch: list.epoch, secret: toBase64Url(secret) });
		}
		const known = new Set(this.list.devices.map((device) => device.id));
		for (const device of list.devices) {
			if (!known.has(device.id) && device.id !== this.keys.id) {
				this.record.notices.push({ deviceId: device.id, name: device.name, linkedAt: device.linkedAt });
			}
		}
		const listed = new Set(list.devices.map((device) => device.id));
		this.record.notices = this.record.notices.filter((notice) => listed.has(notice.deviceId));
		this.record.deviceList = toBase64Url(bytes);
		this.list = list;
		return true;
	}

	private adoptHeartbeat(bytes: Uint8Array): boolean {
		let heartbeat;
		try {
			heartbeat = readSignedHeartbeat(bytes);
		} catch {
			this.securityEvent('bad-heartbeat');
			return false;
		}
		if (!constantTimeEqual(heartbeat.accountKey, this.list.accountKey)) {
			this.securityEvent('foreign-heartbeat');
			return false;
		}
		const now = this.clock();
		if (heartbeat.time > now + MAX_CLOCK_SKEW_MS) {
			this.securityEvent('heartbeat-from-future');
			return false;
		}
		if (heartbeat.time <= this.record.absence.heartbeatTime) return false;
		this.record.heartbeat = toBase64Url(bytes);
		this.record.absence = { heartbeatTime: heartbeat.time, counted: Math.max(0, now - heartbeat.time), lastClock: now };
		return true;
	}

	/**
	 * How long this companion has gone without its primary. With `advance`, the count moves on and is
	 * saved, and past 14 days the companion logs itself out; without, it is only read.
	 */
	absence(advance = true): AbsenceState {
		if (this.isPrimary) return { counted: 0, warn: false };
		const now = this.clock();
		const absence = this.record.absence;
		const counted = absence.counted + Math.max(0, now - absence.lastClock);
		if (advance) {
			absence.counted = counted;
			absence.lastClock = now;
			if (counted > PRIMARY_ABSENCE_LIMIT_MS && !this.record.loggedOut) this.logOut('primary-inactive');
			void this.save();
		}
		return {
			counted,
			daysLeft: Math.max(0, Math.ceil((PRIMARY_ABSENCE_LIMIT_MS - counted) / DAY_MS)),
			warn: counted >= PRIMARY_ABSENCE_WARNING_MS
		};
	}

	/** On the primary, at most once an hour: a new signed heartbeat. True when one was written. */
	writeHeartbeat(): boolean {
		if (!this.isPrimary) return false;
		const now = this.clock();
		if (this.record.heartbeat && now - this.record.absence.heartbeatTime < HEARTBEAT_INTERVAL_MS && now >= this.record.absence.heartbeatTime) {
			return false;
		}
		this.record.heartbeat = toBase64Url(writeHeartbeat({ accountKey: this.list.accountKey, time: now }, this.keys.signing.secretKey));
		this.record.absence = { heartbeatTime: now, counted: 0, lastClock: now };
		void this.save();
		this.emit('changed', undefined);
		return true;
	}

	/** The signed heartbeat to hand a new device (written fresh for it). */
	freshHeartbeat(): Uint8Array {
		this.requirePrimary();
		return writeHeartbeat({ accountKey: this.list.accountKey, time: this.clock() }, this.keys.signing.secretKey);
	}

	/**
	 * Puts a new device on a new signed list and adopts it. Checks and adopts in one synchronous step,
	 * so of two links racing for the last free slot exactly one gets it.
	 */
	linkDevice(request: DeviceRequest): { deviceList: Uint8Array; device: ListedDevice } {
		this.requirePrimary();
		const id = deviceIdOf(request.signKey, request.agreeKey);
		if (this.list.devices.some((device) => device.id === id)) throw new LinkRefusal('already-linked');
		if (this.list.devices.length - 1 >= MAX_LINKED_DEVICES) throw new LinkRefusal('too-many-devices');
		const device: ListedDevice = {
			id,
			signKey: request.signKey,
			agreeKey: request.agreeKey,
			role: 'companion',
			kind: request.kind,
			linkedAt: this.clock(),
			name: distinctName(request.name, this.list.devices.map((d) => d.name))
		};
		const deviceList = this.issue([...this.list.devices, device], this.list.epoch, this.epochKey(this.list.epoch).secret, this.list.former, false);
		return { deviceList, device };
	}

	/** Removes devices and starts a new key epoch that only the remaining devices receive. */
	removeDevices(ids: string[], deleteAccount = false): Uint8Array {
		this.requirePrimary();
		const removed = this.list.devices.filter((device) => ids.includes(device.id) && device.role !== 'primary');
		if (removed.length === 0 && !deleteAccount) return fromBase64Url(this.record.deviceList);
		const remaining = this.list.devices.filter((device) => !removed.includes(device));
		const former = [...removed.map((device) => ({ id: device.id, name: device.name })), ...this.list.former].slice(0, MAX_FORMER_DEVICES);
		const epoch = this.list.epoch + 1;
		const secret = newEpochSecret();
		const now = this.clock();
		for (const known of this.record.epochs) known.retiredAt ??= now;
		this.record.epochs.push({ epoch, secret: toBase64Url(secret) });
		return this.issue(remaining, epoch, secret, former, deleteAccount);
	}

	/** On the primary: a final list that tells every other device the account is gone. */
	deleteAccount(): void {
		const companions = this.list.devices.filter((device) => device.role !== 'primary').map((device) => device.id);
		this.removeDevices(companions, true);
	}

	/** The device a leaving note speaks for, when it is listed and signed the note itself. */
	leavingDevice(note: Uint8Array, deviceId: string): ListedDevice | undefined {
		const device = this.list.devices.find((candidate) => candidate.id === deviceId && candidate.role === 'companion');
		if (!device) return undefined;
		try {
			const read = readLeavingNote(note, device.signKey);
			return read.deviceId === device.id && constantTimeEqual(read.accountKey, this.list.accountKey) ? device : undefined;
		} catch {
			this.securityEvent('forged-leaving-note');
			void this.save();
			return undefined;
		}
	}

	/** This companion's signed note that it is leaving the account. */
	leavingNote(): Uint8Array {
		return writeLeavingNote({ accountKey: this.list.accountKey, deviceId: this.keys.id }, this.keys.signing.secretKey);
	}

	private issue(devices: ListedDevice[], epoch: number, secret: Uint8Array, former: { id: string; name: string }[], deleted: boolean): Uint8Array {
		const version = Math.max(this.record.nextListVersion, this.list.version + 1);
		this.record.nextListVersion = version + 1;
		const deviceList = issueList(this.keys, { version, issuedAt: this.clock(), epoch, devices, former, deleted }, secret);
		this.record.deviceList = toBase64Url(deviceList);
		this.list = readSignedDeviceList(deviceList);
		void this.save();
		this.emit('changed', undefined);
		return deviceList;
	}

	markNoticesSeen(): void {
		if (this.record.notices.length === 0) return;
		this.record.notices = [];
		void this.save();
		this.emit('shown', undefined);
	}

	/** Marks this device logged out; the session wipes its storage when it sees the event. */
	logOut(reason: LogoutReason): void {
		if (this.record.loggedOut) return;
		this.record.loggedOut = reason;
		void this.save();
		this.emit('logged-out', reason);
	}

	private securityEvent(kind: SecurityEventKind): void {
		this.record.events = [{ at: this.clock(), kind }, ...this.record.events].slice(0, MAX_SECURITY_EVENTS);
	}

	private epochKey(epoch: number): EpochKey {
		const known = this.record.epochs.find((candidate) => candidate.epoch === epoch);
		if (!known) throw new TrustFormatError(`no secret for key epoch ${epoch}`);
		return { epoch, secret: fromBase64Url(known.secret) };
	}

	private requirePrimary(): void {
		if (!this.isPrimary) throw new LinkRefusal('not-primary');
	}

	/** A former epoch's secret is kept only while its room hands over the newest list (30 days). */
	private forgetOldEpochs(): void {
		const since = this.clock() - HANDOVER_MS;
		this.record.epochs = this.record.epochs.filter((epoch) => epoch.epoch === this.list.epoch || (epoch.retiredAt ?? since) >= since);
	}

	/** Waits for pending saves and stops saving: the device is about to delete its storage. */
	async retire(): Promise<void> {
		this.retired = true;
		await this.saving;
	}

	/** Writes the record; saves are chained so that the newest state is the one stored last. */
	save(): Promise<void> {
		if (this.retired) return this.saving;
		this.forgetOldEpochs();
		const snapshot = structuredClone(this.record);
		this.saving = this.saving.then(() => this.records.set(RECORD, snapshot)).catch(() => undefined);
		return this.saving;
	}
}

/**
 * What a new device checks before it says it joined: the list is signed by the key it names, lists
 * this device, seals it the epoch's secret, and comes with a valid heartbeat of that account that is
 * not from the future. Throws TrustFormatError.
 */
export function checkJoin(keys: DeviceKeys, now: number, deviceList: Uint8Array, heartbeat: Uint8Array): { list: DeviceList; secret: Uint8Array } {
	const list = readSignedDeviceList(deviceList);
	const secret = openEpochBox(list, keys);
	const beat = readSignedHeartbeat(heartbeat);
	if (!constantTimeEqual(beat.accountKey, list.accountKey) || beat.time > now + MAX_CLOCK_SKEW_MS) {
		throw new TrustFormatError('the link bundle carried no valid heartbeat');
	}
	return { list, secret };
}

function issueList(
	keys: DeviceKeys,
	list: Omit<DeviceList, 'accountKey' | 'epochBoxes'>,
	secret: Uint8Array
): Uint8Array {
	const accountKey = keys.signing.publicKey;
	const epochBoxes = list.devices.map((device) => sealTo(device.agreeKey, secret, epochBoxAssociated(accountKey, list.epoch, device.id)));
	return writeDeviceList({ ...list, accountKey, epochBoxes }, keys.signing.secretKey);
}

function openEpochBox(list: DeviceList, keys: DeviceKeys): Uint8Array {
	const index = list.devices.findIndex((device) => device.id === keys.id);
	if (index < 0) throw new TrustFormatError('this device is not on the list');
	try {
		return openSealed(keys.agreement, list.epochBoxes[index]!, epochBoxAssociated(list.accountKey, list.epoch, keys.id));
	} catch (error) {
		if (error instanceof CryptoError) throw new TrustFormatError('the epoch secret sealed to this device does not open');
		throw error;
	}
}

/** "Chrome on Android", or "Chrome on Android 2" when the account already has one of that name. */
export function distinctName(wanted: string, taken: string[]): string {
	const base = wanted.trim().slice(0, MAX_DEVICE_NAME_LENGTH - 3) || 'Device';
	if (!taken.includes(base)) return base;
	for (let n = 2; ; n++) if (!taken.includes(`${base} ${n}`)) return `${base} ${n}`;
}
