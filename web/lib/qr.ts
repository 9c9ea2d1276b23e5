import qrcode from "qrcode-generator";

/**
 * QR codes for QRIS payment strings, drawn on the page so the donor can scan them from the screen
 * without loading an image from the payment provider. Encoding is qrcode-generator's (byte mode,
 * error correction level M, the smallest version that fits).
 */
export interface QrCode {
	version: number;
	size: number;
	/** modules[y][x]: true = dark. */
	modules: boolean[][];
}

/** Encodes text as UTF-8 bytes at level M; RangeError when it is too long for version 40. */
export function encodeQr(text: string): QrCode {
	const qr = qrcode(0, "M");
	// qrcode-generator's byte mode takes one byte per character: hand it the UTF-8 bytes that way.
	const bytes = new TextEncoder().encode(text);
	let binary = "";
	for (const b of bytes) binary += String.fromCharCode(b);
	qr.addData(binary, "Byte");
	try {
		qr.make();
	} catch {
		throw new RangeError(`${bytes.length} bytes do not fit in a QR code at level M`);
	}
	const size = qr.getModuleCount();
	const modules = Array.from({ length: size }, (_, y) => Array.from({ length: size }, (_, x) => qr.isDark(y, x)));
	return { version: (size - 17) / 4, size, modules };
}

/** Draws the code on a canvas (with the 4-module quiet zone), crisp at any size. */
export function qrCanvas(text: string, pixels = 240): HTMLCanvasElement {
	const qr = encodeQr(text);
	const quiet = 4;
	const scale = Math.max(1, Math.floor(pixels / (qr.size + quiet * 2)));
	const canvas = document.createElement("canvas");
	canvas.width = canvas.height = (qr.size + quiet * 2) * scale;
	const g = canvas.getContext("2d")!;
	g.fillStyle = "#fff";
	g.fillRect(0, 0, canvas.width, canvas.height);
	g.fillStyle = "#000";
	qr.modules.forEach((row, y) => row.forEach((dark, x) => dark && g.fillRect((x + quiet) * scale, (y + quiet) * scale, scale, scale)));
	return canvas;
}
