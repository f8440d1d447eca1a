//! Large PNGs previewed without holding them whole.
//!
//! A preview is at most `preview_max_side` pixels a side, but decoding a
//! 20 MB PNG to make one held all its pixels: 20 MiB for a 2580 px picture,
//! per decode, and fifty such results at once took turns through that.
//! PNG is what Gradio sends most, and its rows come one at a time: here
//! each block of `factor`×`factor` pixels is averaged into one as the rows
//! arrive, so what is held is the reduced image (1/factor² of the whole)
//! and one row. The preview is then resized from that, as from any image.
//! Interlaced PNGs (rare, rows out of order) and other formats are decoded
//! whole, as before.

use std::io::BufReader;
use std::path::Path;

/// An image reduced to RGB8, row-major.
pub(super) struct Reduced {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) rgb: Vec<u8>,
}

/// The PNG at `path` reduced by the largest whole factor that keeps its
/// longer side at least `max_side`; `None` when it is not a PNG this reads
/// row by row, or needs no reducing (the caller decodes it whole).
pub(super) fn png_reduced(path: &Path, max_side: u32) -> Option<Reduced> {
    let file = std::fs::File::open(path).ok()?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().ok()?;
    let info = reader.info();
    let (width, height) = (info.width, info.height);
    if info.interlaced {
        return None;
    }
    let factor = width.max(height) / max_side.max(1);
    if factor < 2 {
        return None;
    }
    let channels = match reader.output_color_type() {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => 1,
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => 2,
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        _ => return None,
    };
    let mut blocks = Blocks::new(width, height, factor);
    while let Some(row) = reader.next_row().ok()? {
        blocks.add_row(row.data(), channels);
    }
    blocks.finish()
}

/// Sums of each block of a band of `factor` rows, then the averages.
struct Blocks {
    width: u32,
    height: u32,
    factor: u32,
    /// Per reduced column, the band's sums of red, green and blue.
    sums: Vec<u32>,
    rows_in_band: u32,
    rows_seen: u32,
    out: Vec<u8>,
}

impl Blocks {
    fn new(width: u32, height: u32, factor: u32) -> Blocks {
        let (w, h) = (width.div_ceil(factor), height.div_ceil(factor));
        Blocks {
            width,
            height,
            factor,
            sums: vec![0; w as usize * 3],
            rows_in_band: 0,
            rows_seen: 0,
            out: Vec::with_capacity(w as usize * h as usize * 3),
        }
    }

    fn add_row(&mut self, row: &[u8], channels: usize) {
        if self.rows_seen >= self.height {
            return;
        }
        for (x, pixel) in row
            .chunks_exact(channels)
            .take(self.width as usize)
            .enumerate()
        {
            let [r, g, b] = match *pixel {
                [v] | [v, _] => [v, v, v],
                [r, g, b] | [r, g, b, _] => [r, g, b],
                _ => continue,
            };
            let at = (x / self.factor as usize) * 3;
            self.sums[at] += u32::from(r);
            self.sums[at + 1] += u32::from(g);
            self.sums[at + 2] += u32::from(b);
        }
        self.rows_seen += 1;
        self.rows_in_band += 1;
        if self.rows_in_band == self.factor || self.rows_seen == self.height {
            self.flush_band();
        }
    }

    fn flush_band(&mut self) {
        let columns = self.sums.len() / 3;
        for column in 0..columns {
            let first = column as u32 * self.factor;
            let wide = self.factor.min(self.width - first);
            let count = wide * self.rows_in_band;
            for sum in &mut self.sums[column * 3..column * 3 + 3] {
                self.out.push(((*sum + count / 2) / count) as u8);
                *sum = 0;
            }
        }
        self.rows_in_band = 0;
    }

    fn finish(self) -> Option<Reduced> {
        let width = self.width.div_ceil(self.factor);
        let height = self.height.div_ceil(self.factor);
        (self.out.len() == width as usize * height as usize * 3).then_some(Reduced {
            width,
            height,
            rgb: self.out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    fn saved(image: impl FnOnce(&Path), name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("spaces-mcp-reduce-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        image(&path);
        path
    }

    #[test]
    fn blocks_are_averaged_and_the_edges_kept() {
        // 7×5, red rising with x, blue with y; factor 2 (max side 3).
        let path = saved(
            |p| {
                ImageBuffer::from_fn(7, 5, |x, y| Rgb([x as u8 * 10, 100, y as u8 * 20]))
                    .save(p)
                    .unwrap()
            },
            "ramp.png",
        );
        let reduced = png_reduced(&path, 3).unwrap();
        assert_eq!((reduced.width, reduced.height), (4, 3));
        let at = |x: usize, y: usize| &reduced.rgb[(y * 4 + x) * 3..(y * 4 + x) * 3 + 3];
        assert_eq!(at(0, 0), [5, 100, 10]); // x 0..2, y 0..2
        assert_eq!(at(3, 0), [60, 100, 10]); // the last column alone (x 6)
        assert_eq!(at(0, 2), [5, 100, 80]); // the last row alone (y 4)
    }

    #[test]
    fn alpha_and_grey_come_out_as_rgb_and_small_images_are_left_alone() {
        let path = saved(
            |p| {
                ImageBuffer::from_fn(40, 20, |_, _| Rgba([10u8, 20, 30, 0]))
                    .save(p)
                    .unwrap()
            },
            "clear.png",
        );
        let reduced = png_reduced(&path, 10).unwrap();
        assert_eq!((reduced.width, reduced.height), (10, 5));
        assert!(reduced.rgb.chunks(3).all(|p| p == [10, 20, 30]));
        let grey = saved(
            |p| {
                image::GrayImage::from_fn(30, 30, |_, _| image::Luma([77u8]))
                    .save(p)
                    .unwrap()
            },
            "grey.png",
        );
        assert!(png_reduced(&grey, 10).unwrap().rgb.iter().all(|v| *v == 77));
        assert!(
            png_reduced(&grey, 20).is_none(),
            "30 px for 20: no whole factor"
        );
        let not_png = saved(|p| std::fs::write(p, b"not a png").unwrap(), "x.png");
        assert!(png_reduced(&not_png, 10).is_none());
    }
}
