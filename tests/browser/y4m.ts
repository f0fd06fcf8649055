/**
 * Turns a screenshot into a Y4M video that Chromium's fake camera plays: the picture, scaled to fit
 * and centred on white, in 640×480 frames of 4:2:0 YUV (grey, so U and V stay neutral).
 */
import { PNG } from 'pngjs';

export function pngToY4m(png: Buffer, { width = 640, height = 480, fill = 0.85, frames = 2 } = {}): Buffer {
	const image = PNG.sync.read(png);
	const scale = Math.min((width * fill) / image.width, (height * fill) / image.height);
	const drawnWidth = Math.floor(image.width * scale);
	const drawnHeight = Math.floor(image.height * scale);
	const left = Math.floor((width - drawnWidth) / 2);
	const top = Math.floor((height - drawnHeight) / 2);
	const luma = Buffer.alloc(width * height, 235);
	for (let y = 0; y < drawnHeight; y++) {
		for (let x = 0; x < drawnWidth; x++) {
			const source = (Math.floor(y / scale) * image.width + Math.floor(x / scale)) * 4;
			const [r, g, b] = [image.data[source]!, image.data[source + 1]!, image.data[source + 2]!];
			// BT.601 studio range, as a camera would deliver it.
			luma[(top + y) * width + left + x] = Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
		}
	}
	const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
	const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\n`);
	const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
	return Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]);
}
