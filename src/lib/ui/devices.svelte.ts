/**
 * The device list screen's state: the rows, the device being renamed, the action waiting for its
 * confirm step, and the notices of devices linked since this device last looked.
 */
import { untrack } from 'svelte';
import type { DeviceNotice, SecurityEvent } from '../identity/account-trust';
import type { DeviceView } from '../session';
import { watched } from './app.svelte';

export type PendingAction = { kind: 'remove'; id: string; name: string } | { kind: 'log-out' } | { kind: 'delete-account' };

export interface DeviceRow extends DeviceView {
	/** The primary may log out any companion. */
	removable: boolean;
}

export interface DevicesView {
	rows: DeviceRow[];
	isPrimary: boolean;
	isFull: boolean;
	securityEvents: SecurityEvent[];
}

export class DevicesModel {
	/** The id of the device whose name is being edited. */
	editing = $state<string | undefined>();
	draft = $state('');
	/** Why the name being edited cannot be saved. */
	renameError = $state('');
	pending = $state<PendingAction | undefined>();
	busy = $state(false);
	error = $state('');
	/** Notices shown while the list is open; the session forgets them as soon as they are shown. */
	notices = $state<DeviceNotice[]>([]);

	get view(): DevicesView | undefined {
		const session = watched();
		if (!session) return undefined;
		const isPrimary = session.isPrimary;
		return {
			rows: session.devices.map((device) => ({ ...device, removable: isPrimary && device.role === 'companion' })),
			isPrimary,
			isFull: session.isFull,
			securityEvents: session.securityEvents
		};
	}

	/** The user looks at the list: its new-device notices move here and count as seen. */
	look(): void {
		const session = watched();
		if (!session || session.notices.length === 0) return;
		const fresh = session.notices;
		untrack(() => {
			const known = new Set(this.notices.map((notice) => notice.deviceId));
			this.notices = [...this.notices, ...fresh.filter((notice) => !known.has(notice.deviceId))];
		});
		session.markNoticesSeen();
	}

	startRename(device: DeviceView): void {
		this.pending = undefined;
		this.editing = device.id;
		this.draft = device.name;
		this.renameError = '';
	}

	/** Saves the new name, unless another device of the account already has it (`taken` says so). */
	saveRename(taken: (name: string) => string): void {
		const id = this.editing;
		const session = watched();
		const name = this.draft.trim();
		if (id && session && name) {
			const same = (other: string) => other.trim().toLocaleLowerCase() === name.toLocaleLowerCase();
			if (session.devices.some((device) => device.id !== id && same(device.name))) {
				this.renameError = taken(name);
				return;
			}
			session.renameDevice(id, name);
		}
		this.editing = undefined;
		this.renameError = '';
	}

	cancelRename(): void {
		this.editing = undefined;
		this.renameError = '';
	}

	ask(action: PendingAction): void {
		this.editing = undefined;
		this.error = '';
		this.pending = action;
	}

	cancel(): void {
		this.pending = undefined;
	}

	/** Carries out the confirmed action; a logout ends in the logged-out screen. */
	async confirm(describe: (reason: string) => string): Promise<void> {
		const session = watched();
		const action = this.pending;
		if (!session || !action || this.busy) return;
		this.busy = true;
		try {
			if (action.kind === 'remove') session.removeDevice(action.id);
			else if (action.kind === 'log-out') await session.logOut();
			else await session.deleteAccount();
			this.pending = undefined;
		} catch (failure) {
			this.error = describe((failure as Error).message);
		} finally {
			this.busy = false;
		}
	}
}
