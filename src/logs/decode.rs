//! UTF-16 files read as UTF-8, streamed: `Export-Csv` in Windows PowerShell writes UTF-16 when
//! asked for `-Encoding Unicode`, and Microsoft's own scripts read tracking exports that way
//! (docs/evidence.md#logs). Offsets in a decoded file are offsets in its UTF-8 text.

use std::io::Read;

/// A reader of UTF-16 bytes (with their byte-order mark) that yields UTF-8.
pub struct Utf16Reader<R: Read> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Decoded bytes not yet handed out: `output[at..end]`.
    at: usize,
    end: usize,
    done: bool,
}

impl<R: Read> Utf16Reader<R> {
    /// `big_endian`: the byte-order mark was `FE FF`.
    pub fn new(inner: R, big_endian: bool) -> Self {
        let encoding = if big_endian {
            encoding_rs::UTF_16BE
        } else {
            encoding_rs::UTF_16LE
        };
        Utf16Reader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; 64 * 1024],
            output: vec![0; 3 * 64 * 1024 + 16],
            at: 0,
            end: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.end && !self.done {
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            let (_, _, written, _) =
                self.decoder
                    .decode_to_utf8(&self.input[..n], &mut self.output, last);
            self.at = 0;
            self.end = written;
            self.done = last;
        }
        let n = buf.len().min(self.end - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_read_as_utf8_across_buffer_boundaries() {
        let text = "#TYPE x\r\n\"Timestamp\",\"MessageId\"\r\n\"é\",\"<a@b>\"\r\n".repeat(5000);
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let mut out = String::new();
        Utf16Reader::new(&bytes[..], false)
            .read_to_string(&mut out)
            .expect("reads");
        assert_eq!(out, text);
    }
}
