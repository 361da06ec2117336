//! A figure as a list of drawing operations, rendered by plotters to PNG (plotters-bitmap)
//! or SVG, with the shipped DejaVu Sans font so text renders everywhere.

use crate::error::{Error, Result};
use image::{Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// DejaVu Sans (Bitstream Vera licence, `data/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Registers the shipped font with plotters (once); charts drawn with plotters
/// directly need it before any text.
pub(crate) fn register_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for style in [
            FontStyle::Normal,
            FontStyle::Bold,
            FontStyle::Italic,
            FontStyle::Oblique,
        ] {
            if plotters::style::register_font(FAMILY, style, FONT).is_err() {
                panic!("the shipped font data/fonts/DejaVuSans.ttf does not parse");
            }
        }
    });
}

/// Horizontal alignment of a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// `x` is the left edge.
    Left,
    /// `x` is the centre.
    Center,
    /// `x` is the right edge.
    Right,
}

/// One drawing operation, in figure pixels (origin top-left).
#[derive(Clone, Debug)]
pub enum Op {
    /// An image with its top-left corner at `(x, y)`, drawn at its own size.
    Image {
        /// Left edge.
        x: i32,
        /// Top edge.
        y: i32,
        /// The pixels.
        image: RgbImage,
    },
    /// A rectangle, filled or outlined.
    Rect {
        /// Top-left corner.
        from: (i32, i32),
        /// Bottom-right corner (exclusive).
        to: (i32, i32),
        /// Colour.
        color: Rgb<u8>,
        /// Outline width in pixels; 0 fills.
        stroke: u32,
    },
    /// A filled polygon (pie slices).
    Polygon {
        /// Corners.
        points: Vec<(i32, i32)>,
        /// Colour.
        color: Rgb<u8>,
    },
    /// A line of text; `y` is its vertical centre.
    Text {
        /// Anchor x.
        x: i32,
        /// Vertical centre.
        y: i32,
        /// The text.
        text: String,
        /// Font size in pixels.
        size: f64,
        /// Colour.
        color: Rgb<u8>,
        /// Alignment about `x`.
        align: Align,
        /// Bold.
        bold: bool,
    },
}

/// A figure: a white canvas of `width x height` and what is drawn on it.
///
/// Build one with the layouts of [`crate::plot`], then [`Figure::save`] it as PNG or
/// SVG, or leave it as the last expression of an evcxr cell to see it inline.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Drawing operations, in order.
    pub ops: Vec<Op>,
}

impl Figure {
    /// An empty white figure.
    pub fn new(width: u32, height: u32) -> Self {
        Figure {
            width,
            height,
            ops: Vec::new(),
        }
    }

    /// Adds an operation.
    pub fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    /// Adds text.
    pub fn text(&mut self, x: i32, y: i32, text: impl Into<String>, size: f64, align: Align) {
        self.push(Op::Text {
            x,
            y,
            text: text.into(),
            size,
            color: Rgb([0, 0, 0]),
            align,
            bold: false,
        });
    }

    /// Adds bold text.
    pub fn title(&mut self, x: i32, y: i32, text: impl Into<String>, size: f64) {
        self.push(Op::Text {
            x,
            y,
            text: text.into(),
            size,
            color: Rgb([0, 0, 0]),
            align: Align::Center,
            bold: true,
        });
    }

    /// Places another figure's operations with its top-left corner at `(x, y)`.
    pub fn place(&mut self, other: &Figure, x: i32, y: i32) {
        for op in &other.ops {
            self.ops.push(match op.clone() {
                Op::Image {
                    x: ox,
                    y: oy,
                    image,
                } => Op::Image {
                    x: ox + x,
                    y: oy + y,
                    image,
                },
                Op::Rect {
                    from,
                    to,
                    color,
                    stroke,
                } => Op::Rect {
                    from: (from.0 + x, from.1 + y),
                    to: (to.0 + x, to.1 + y),
                    color,
                    stroke,
                },
                Op::Polygon { points, color } => Op::Polygon {
                    points: points.iter().map(|p| (p.0 + x, p.1 + y)).collect(),
                    color,
                },
                Op::Text {
                    x: ox,
                    y: oy,
                    text,
                    size,
                    color,
                    align,
                    bold,
                } => Op::Text {
                    x: ox + x,
                    y: oy + y,
                    text,
                    size,
                    color,
                    align,
                    bold,
                },
            });
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, plotters::coord::Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        register_fonts();
        let fail = |e: String| Error::Figure(e);
        area.fill(&WHITE)
            .map_err(|e| Error::plot("the figure", e))?;
        for op in &self.ops {
            match op {
                Op::Image { x, y, image } => {
                    let el = BitMapElement::with_ref((*x, *y), image.dimensions(), image.as_raw())
                        .ok_or_else(|| fail("image buffer of the wrong size".into()))?;
                    area.draw(&el).map_err(|e| Error::plot("the figure", e))?;
                }
                Op::Rect {
                    from,
                    to,
                    color,
                    stroke,
                } => {
                    let c = RGBColor(color[0], color[1], color[2]);
                    let style = if *stroke == 0 {
                        c.filled()
                    } else {
                        c.stroke_width(*stroke)
                    };
                    // plotters rectangles include their far corner
                    let far = (to.0 - 1, to.1 - 1);
                    area.draw(&Rectangle::new([*from, far], style))
                        .map_err(|e| Error::plot("the figure", e))?;
                }
                Op::Polygon { points, color } => {
                    let c = RGBColor(color[0], color[1], color[2]);
                    area.draw(&Polygon::new(points.clone(), c.filled()))
                        .map_err(|e| Error::plot("the figure", e))?;
                }
                Op::Text {
                    x,
                    y,
                    text,
                    size,
                    color,
                    align,
                    bold,
                } => {
                    let h = match align {
                        Align::Left => HPos::Left,
                        Align::Center => HPos::Center,
                        Align::Right => HPos::Right,
                    };
                    let style = if *bold {
                        FontStyle::Bold
                    } else {
                        FontStyle::Normal
                    };
                    let font = FontDesc::new(FontFamily::Name(FAMILY), *size, style)
                        .color(&RGBColor(color[0], color[1], color[2]))
                        .pos(Pos::new(h, VPos::Center));
                    area.draw(&plotters::element::Text::new(text.clone(), (*x, *y), font))
                        .map_err(|e| Error::plot("the figure", e))?;
                }
            }
        }
        area.present().map_err(|e| Error::plot("the figure", e))
    }

    /// Renders to an RGB image.
    pub fn to_image(&self) -> Result<RgbImage> {
        let mut buf = vec![255u8; (self.width * self.height * 3) as usize];
        {
            let root =
                BitMapBackend::with_buffer(&mut buf, (self.width, self.height)).into_drawing_area();
            self.draw(&root)?;
        }
        RgbImage::from_raw(self.width, self.height, buf)
            .ok_or_else(|| Error::Figure("rendered buffer of the wrong size".into()))
    }

    /// Renders to PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        crate::image::encode_png(&self.to_image()?)
    }

    /// Renders to an SVG document (images embedded as PNG).
    pub fn to_svg(&self) -> Result<String> {
        let mut out = String::new();
        {
            let root =
                SVGBackend::with_string(&mut out, (self.width, self.height)).into_drawing_area();
            self.draw(&root)?;
        }
        Ok(out)
    }

    /// Writes `.png` or `.svg`, by the extension; creates the folder.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let ext = crate::paths::extension(path);
        let bytes = match ext.as_str() {
            "png" => self.to_png()?,
            "svg" => self.to_svg()?.into_bytes(),
            _ => {
                return Err(Error::invalid(
                    "figure output",
                    path.display(),
                    "the extension must be .png or .svg",
                ))
            }
        };
        crate::paths::create_parent(path)?;
        std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
    }

    /// Shows the figure in an evcxr cell as one PNG.
    #[cfg(feature = "evcxr")]
    pub fn evcxr_display(&self) {
        match self.to_image() {
            Ok(image) => crate::display::Picture { image }.evcxr_display(),
            Err(e) => println!("{e}"),
        }
    }
}
