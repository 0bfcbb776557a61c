# Made with Debian's python3-pil 9.4 and python3-torchvision 0.14 (run in this folder): /usr/bin/python3 make_images.py
# Used by tests/Res2Net.Tests/Imaging. Each NAME.EXT has NAME.EXT.npy: what PIL's Image.open(f).convert('RGB') gives,
# uint8 (H, W, 3). noise.* .npy files are the torchvision evaluation transform at a small size (see below).
import io
import numpy as np
from PIL import Image
import torch
from torchvision import transforms as T

rng = np.random.default_rng(7)
def noise(w, h, c):
    return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)

def save(im, name, **kw):
    im.save(name, **kw)
    rgb = np.asarray(Image.open(name).convert('RGB'))
    np.save(name + '.npy', rgb)

rgb = Image.fromarray(noise(7, 5, 3), 'RGB')
save(rgb, 'rgb.bmp')
save(rgb.quantize(16), 'palette.bmp')
save(Image.fromarray(noise(7, 5, 1)[:, :, 0], 'L'), 'gray.png')
save(Image.fromarray(noise(7, 5, 2), 'LA'), 'gray_alpha.png')
# Alpha 0 with colour under it shows that alpha is dropped, not blended.
rgba = noise(7, 5, 4)
rgba[0, :, 3] = 0
rgba[1, :, 3] = 255
save(Image.fromarray(rgba, 'RGBA'), 'rgba.png')
save(rgb.quantize(16), 'palette.png')
save(rgb, 'lossless.webp', lossless=True)
save(Image.fromarray(rgba, 'RGBA'), 'rgba_lossless.webp', lossless=True)
smooth = Image.fromarray(np.linspace(0, 255, 16 * 12 * 3).astype(np.uint8).reshape(12, 16, 3), 'RGB')
save(smooth, 'lossy.webp', quality=90)
save(smooth, 'photo.jpg', quality=90)
save(smooth.convert('L'), 'gray.jpg', quality=90)
# Two frames: the first is red, the second blue; only the first is read.
frames = [Image.new('RGB', (6, 4), (255, 0, 0)), Image.new('RGB', (6, 4), (0, 0, 255))]
frames[0].save('animated.gif', save_all=True, append_images=frames[1:], duration=100, loop=0)
np.save('animated.gif.npy', np.asarray(Image.open('animated.gif').convert('RGB')))
save(rgb.quantize(32), 'palette.gif')
# Palette images with a transparent index: convert('RGB') keeps the palette colour under it.
trns = rgb.quantize(8)
save(trns, 'palette_trns.png', transparency=3)
save(trns, 'transparent.gif', transparency=3)
# A first frame smaller than the canvas (screen widened to 9x7 by hand): PIL fills the rest with the transparent index.
data = bytearray(open('transparent.gif', 'rb').read())
data[6:10] = (9).to_bytes(2, 'little') + (7).to_bytes(2, 'little')
open('small_frame.gif', 'wb').write(data)
np.save('small_frame.gif.npy', np.asarray(Image.open('small_frame.gif').convert('RGB')))
# CMYK JPEG (Adobe): PIL inverts it naively (R = 255 - C - K clipped... as libImaging's cmyk2rgb does).
save(Image.fromarray(noise(7, 5, 4), 'CMYK'), 'cmyk.jpg', quality=95)
# EXIF orientation 6 (rotate 90 on display): PIL's convert does not rotate, so the array stays 7 wide and 5 high.
exif = Image.Exif()
exif[0x0112] = 6
save(rgb, 'exif_rotated.jpg', quality=95, exif=exif.tobytes())

# The evaluation transform at a small size: InputSize 24, CropPct 0.875 -> Resize(27), CenterCrop(24). 40x30 gives a
# 36x27 resize and a crop at (6, 2): round(1.5) = 2, Python's half-to-even. 9x7 is enlarged (no antialiasing).
Image.fromarray(noise(40, 30, 3), 'RGB').save('noise.png')
Image.fromarray(noise(9, 7, 3), 'RGB').save('small.png')
norm = T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
for src in ('noise', 'small'):
    im = Image.open(src + '.png').convert('RGB')
    for name, interp in (('bilinear', T.InterpolationMode.BILINEAR), ('bicubic', T.InterpolationMode.BICUBIC)):
        t = T.Compose([T.Resize(27, interpolation=interp), T.CenterCrop(24), T.ToTensor(), norm])(im)
        np.save(f'{src}.{name}.npy', t.numpy())
    gray = T.Compose([T.Resize(27), T.CenterCrop(24), T.ToTensor(), T.Normalize(mean=[0.5], std=[0.25])])(im.convert('L'))
    np.save(f'{src}.gray.npy', gray.numpy())
