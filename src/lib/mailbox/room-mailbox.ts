/**
 * One day room's blind mailbox, as a device uses it: deposits, and what it does with what other
 * devices left there (../protocol/mailbox-entry.ts). What waits to be deposited is kept by
 * ./outbox.ts. Entries are applied a few at a time, yielding in between, so a long mailbox never
 * freezes the screen; an update too large for one entry arrives in parts, joined once all are here.
 */
import type { RoomKeys } from '../identity/epochs';
import {
	INTRODUCTION_ENTRY_ID,
	joinMailboxParts,
	MAX_PENDING_GROUPS,
	openMailboxEntry,
	sealMailboxEntries,
	sealMailboxEntry,
	type MailboxContent,
	type MailboxPart
} from '../protocol/mailbox-entry';
import { MAX_MAILBOX_ITEM_BYTES } from '../transport/signaling-protocol';
import type { MailboxEntry, Transport } from '../transport/types';
import { newId } from '../chats/chats';

export interface MailboxHandlers {
	/** Applies a document update; false when it is not valid here. */
	update(topic: string, update: Uint8Array): Promise<boolean>;
	introduction(introduction: Uint8Array): void;
	/** Everything that waited in the mailbox when this device joined has been handled. */
	caughtUp?(): void;
}

/** Entries handled before yielding to the rest of the page. */
const ENTRIES_PER_SLICE = 20;

export class RoomMailbox {
	/** Entries that could not be opened or applied. */
	rejected = 0;
	/** Parts of updates still incomplete, by group; their entry ids are taken once the group is applied. */
	private readonly groups = new Map<string, { parts: MailboxPart[]; ids: string[] }>();
	private readonly stops: (() => void)[];
	private receiving: Promise<void> = Promise.resolve();
	/** Whether this device has handled everything the mailbox held when it last joined the room. */
	caughtUp = false;

	constructor(
		private readonly transport: Transport,
		private readonly keys: RoomKeys,
		private readonly handlers: MailboxHandlers,
		/**
		 * Whether this device takes what it handled, asked each time. Not in a former epoch's room:
		 * the changes there are for devices still on that epoch, and this device does not apply them
		 * (a removed device could have written them).
		 */
		private readonly takes: () => boolean = () => true
	) {
		this.stops = [
			transport.on('mailbox', (entries) => {
				// A page that fails as a whole (the device is being wiped meanwhile) is counted; the next one is still handled.
				this.receiving = this.receiving
					.then(() => this.receive(entries))
					.catch(() => {
						this.rejected += entries.length;
					});
			}),
			transport.on('mailbox-end', () => {
				this.receiving = this.receiving.then(() => {
					this.caughtUp = true;
					this.handlers.caughtUp?.();
				});
			}),
			transport.on('status', (status) => {
				if (status !== 'online') this.caughtUp = false;
			})
		];
	}

	close(): void {
		for (const stop of this.stops) stop();
	}

	get online(): boolean {
		return !!this.transport.mailbox && this.transport.status === 'online';
	}

	/** Deposits one document's update, in parts when it is large; true once the mailbox stored all of it. */
	async depositUpdate(topic: string, update: Uint8Array): Promise<boolean> {
		const mailbox = this.transport.mailbox;
		if (!mailbox || !this.online) return false;
		const entries = sealMailboxEntries(this.keys.mailboxKey, this.keys.room, { kind: 'update', topic, update }, MAX_MAILBOX_ITEM_BYTES);
		const stored = await Promise.all(entries.map((data) => mailbox.deposit({ id: newId(), data })));
		return stored.every(Boolean);
	}

	/** Replaces the room's introduction entry with `introduction`. */
	depositIntroduction(introduction: Uint8Array): void {
		const mailbox = this.transport.mailbox;
		if (!mailbox || !this.online) return;
		void mailbox.deposit({ id: INTRODUCTION_ENTRY_ID, data: sealMailboxEntry(this.keys.mailboxKey, this.keys.room, { kind: 'introduction', introduction }) });
	}

	/** Resolves once every mailbox page received so far was handled. */
	settled(): Promise<void> {
		return this.receiving;
	}

	private async receive(entries: MailboxEntry[]): Promise<void> {
		const taken: string[] = [];
		for (const [index, entry] of entries.entries()) {
			if (index > 0 && index % ENTRIES_PER_SLICE === 0) await new Promise((resolve) => setTimeout(resolve, 0));
			let opened: MailboxContent | MailboxPart | undefined;
			try {
				opened = openMailboxEntry(this.keys.mailboxKey, this.keys.room, entry.data);
			} catch {
				// Sealed under another key, tampered with or malformed: it never will apply.
				this.rejected++;
				taken.push(entry.id);
				continue;
			}
			if (opened.kind === 'part') {
				taken.push(...(await this.receivePart(opened, entry.id)));
				continue;
			}
			if (!(await this.apply(opened))) this.rejected++;
			// The introduction stays for the devices still away.
			if (entry.id !== INTRODUCTION_ENTRY_ID) taken.push(entry.id);
		}
		if (this.takes()) this.transport.mailbox?.take(taken);
	}

	/** Keeps a part until its group is complete; returns the ids to take once it was applied. */
	private async receivePart(part: MailboxPart, id: string): Promise<string[]> {
		let group = this.groups.get(part.group);
		if (!group) {
			if (this.groups.size >= MAX_PENDING_GROUPS) {
				this.rejected++;
				return [];
			}
			this.groups.set(part.group, (group = { parts: [], ids: [] }));
		}
		if (group.parts.some((known) => known.index === part.index)) return [id];
		group.parts.push(part);
		group.ids.push(id);
		if (group.parts.length < part.count) return [];
		this.groups.delete(part.group);
		let content: MailboxContent;
		try {
			content = joinMailboxParts(group.parts);
		} catch {
			this.rejected++;
			return group.ids;
		}
		if (!(await this.apply(content))) this.rejected++;
		return group.ids;
	}

	private async apply(content: MailboxContent): Promise<boolean> {
		if (content.kind === 'introduction') {
			this.handlers.introduction(content.introduction);
			return true;
		}
		return this.handlers.update(content.topic, content.update);
	}
}
