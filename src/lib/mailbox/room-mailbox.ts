/**
 * One epoch room's blind mailbox, as a device uses it: what this device's changes leave there while
 * no other device of the account is connected, and what it does with what others left
 * (../protocol/mailbox-entry.ts). What waits to be deposited is kept by ./outbox.ts.
 */
import type { EpochKeys } from '../identity/epochs';
import { INTRODUCTION_ENTRY_ID, openMailboxEntry, sealMailboxEntry } from '../protocol/mailbox-entry';
import type { MailboxEntry, Transport } from '../transport/types';
import { newId } from '../chats/chats';

export interface MailboxHandlers {
	/** Applies a document update; false when it is not valid here. */
	update(topic: string, update: Uint8Array): Promise<boolean>;
	introduction(introduction: Uint8Array): void;
}

export class RoomMailbox {
	/** Entries that could not be opened or applied. */
	rejected = 0;
	private readonly stop: () => void;

	constructor(
		private readonly transport: Transport,
		private readonly keys: EpochKeys,
		private readonly handlers: MailboxHandlers,
		/**
		 * Whether this device takes what it handled. Not in a former epoch's room: the changes there
		 * are for devices still on that epoch, and this device does not apply them (a removed device
		 * could have written them).
		 */
		private readonly takes = true
	) {
		this.stop = transport.on('mailbox', (entries) => void this.receive(entries));
	}

	close(): void {
		this.stop();
	}

	get online(): boolean {
		return !!this.transport.mailbox && this.transport.status === 'online';
	}

	/** Deposits one merged update per topic; false (nothing sent) while the room cannot be reached. */
	depositUpdates(updates: Map<string, Uint8Array>): boolean {
		const mailbox = this.transport.mailbox;
		if (!mailbox || !this.online) return false;
		for (const [topic, update] of updates) {
			mailbox.deposit({ id: newId(), data: sealMailboxEntry(this.keys.mailboxKey, this.keys.room, { kind: 'update', topic, update }) });
		}
		return true;
	}

	/** Replaces the room's introduction entry with `introduction`. */
	depositIntroduction(introduction: Uint8Array): void {
		const mailbox = this.transport.mailbox;
		if (!mailbox || this.transport.status !== 'online') return;
		mailbox.deposit({ id: INTRODUCTION_ENTRY_ID, data: sealMailboxEntry(this.keys.mailboxKey, this.keys.room, { kind: 'introduction', introduction }) });
	}

	private async receive(entries: MailboxEntry[]): Promise<void> {
		const taken: string[] = [];
		for (const entry of entries) {
			let applied = false;
			try {
				const content = openMailboxEntry(this.keys.mailboxKey, this.keys.room, entry.data);
				if (content.kind === 'introduction') {
					this.handlers.introduction(content.introduction);
					applied = true;
				} else {
					applied = await this.handlers.update(content.topic, content.update);
				}
			} catch {
				// Sealed under another key, tampered with or malformed: applied stays false.
			}
			if (!applied) this.rejected++;
			// The introduction stays for the devices still away; anything else that cannot be
			// applied now never will be, so it is taken all the same.
			if (entry.id !== INTRODUCTION_ENTRY_ID) taken.push(entry.id);
		}
		if (this.takes) this.transport.mailbox?.take(taken);
	}
}
