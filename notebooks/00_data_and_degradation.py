# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Data and degradation
#
# Before we train anything, we need to understand what a blurred microscope image *is*. This
# notebook is a tour of:
#
# 1. the **data**: real blurred/sharp pairs and real focus series (the same field imaged at
#    several focus positions), and the embedded **synthetic** data used when no real data is
#    configured;
# 2. the **degradation model** $y = h * x + n$: a sharp object $x$ convolved with a point-spread
#    function (PSF) $h$ — defocus from diffraction optics, or motion — plus Poisson–Gaussian
#    noise $n$;
# 3. what blur does in the **Fourier domain** (spectra, line profiles, radially averaged power);
# 4. how the full-reference **metrics** PSNR, SSIM and MS-SSIM respond to growing defocus;
# 5. what two **classical** deconvolution methods (Wiener, Richardson–Lucy) recover — the
#    baseline every later notebook shows beside the networks.
#
# **Running it.** The `parameters` cell below is the only one to edit. `PROFILE = "smoke"` runs
# in under a minute on a laptop CPU (tests use it), `"quick"` takes a few minutes, `"paper"` uses
# full-size images. Real data is read from the folder in `$DEBLURLAB_DATA` (or `DATA_DIR`); see
# `data/README.md`. Without it the notebook uses synthetic data and says so.

# %% tags=["parameters"]
PROFILE = "quick"        # "smoke" (tests, < 1 min) | "quick" (laptop, minutes) | "paper" (full-size images)
SEED = 0                 # every random choice below derives from it
DATA_DIR = ""            # folder with the real data sets, "": $DEBLURLAB_DATA (synthetic data if unset)
OPTICS = "bbbc006-20x"   # simulated optics: a preset from deblurlab.psf.OPTICS_PRESETS
DEFOCUS_UM = [0.0, 4.0, 10.0, 16.0, 22.0, 28.0, 34.0]  # planes of the simulated focus series (µm)
PHOTONS = 200.0          # expected photons at intensity 1 (shot noise), lower: noisier
READ_NOISE = 0.01        # camera read noise, standard deviation in [0, 1] intensity units
MOTION_LENGTH_PX = 15.0  # motion-blur length in pixels (paper 002: vertical, 15 px)
MOTION_ANGLE_DEG = 90.0  # 0: horizontal, 90: vertical
RL_ITERATIONS = 30       # Richardson–Lucy iterations
WIENER_BALANCE = None    # Wiener regularisation, None: from a noise estimate (deblurlab.classical)
ARTIFACT_FREQ = 0.25     # cycles/px where the spectra are read out (paper 000's artifact peak)

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if DATA_DIR:
    os.environ["DEBLURLAB_DATA"] = DATA_DIR

from deblurlab import catalog, classical, config, focus, metrics, phantoms, psf, simulate, spectra
from deblurlab.arrays import centre_crop, to_grey
from deblurlab.datasets import midnet_sem
from deblurlab.io import read_image
from deblurlab.plotting import save_figure, save_table, show_images

SETTINGS = {
    # size: side of the centre crops analysed (None = whole images). MS-SSIM needs ≥ 176 px.
    "smoke": dict(size=192, n_sem_pairs=6, max_planes=5, rl_iterations=min(RL_ITERATIONS, 10)),
    "quick": dict(size=384, n_sem_pairs=24, max_planes=None, rl_iterations=RL_ITERATIONS),
    "paper": dict(size=None, n_sem_pairs=96, max_planes=None, rl_iterations=RL_ITERATIONS),
}
if PROFILE not in SETTINGS:
    raise ValueError(f"PROFILE must be one of {sorted(SETTINGS)}, got {PROFILE!r}")
S = SETTINGS[PROFILE]
SIZE = S["size"] or 512  # synthetic images need a concrete size
rng = np.random.default_rng(SEED)
DATA = config.data_root()


def subsample(values, n):
    """Indices of at most ``n`` planes spread evenly over the series (all when ``n`` is None)."""
    idx = np.arange(len(values))
    return idx if n is None or len(idx) <= n else np.unique(np.linspace(0, len(idx) - 1, n).round().astype(int))


def grey_crop(image):
    """Grey centre crop of side S["size"] (or the image's own side when that is smaller)."""
    grey = to_grey(image)
    if S["size"] is None:
        return grey
    return centre_crop(grey, (min(S["size"], grey.shape[0]), min(S["size"], grey.shape[1])))


print(f"PROFILE={PROFILE}, crop={S['size'] or 'full images'}")
print(f"real data: {DATA}" if DATA else "real data: none configured — using the embedded synthetic data")

# %% [markdown]
# ## 1 · The data catalog
#
# Every data set the five papers use (and the small real sets we use in their place) has an entry
# in `data/catalog.json`: upstream URL, layout, licence, size and checksum where known. The
# table shows which ones are present under the data root on *this* machine. Large sets (FaMM,
# the TEM streams, BBBC006) cannot be downloaded here; `python -m deblurlab.catalog fetch NAME`
# gets them on a machine with a network.

# %%
rows = []
for name, entry in catalog.load_catalog().items():
    rows.append({"data set": name, "modality": entry.modality, "licence": entry.licence,
                 "here": catalog.local_path(name) is not None, "downloadable": entry.downloadable})
catalog_table = pd.DataFrame(rows).set_index("data set")
save_table(catalog_table, "00_catalog");
catalog_table

# %% [markdown]
# ## 2 · Real blurred/sharp pairs (SEM)
#
# The MIDNet SEM set holds 96 real pairs of material microstructure, 12 overlapping tiles from
# each of 8 source fields (groups `1-1` … `8-1`). Because tiles of one group overlap, any
# train/test split must keep whole groups together (`deblurlab.datasets.group_split`).
#
# The MIDNet paper reports PSNR 21.64 dB / SSIM 0.577 for *blurry vs sharp* on its own random
# test split (which cannot be reproduced: the split was not published). We compute the same
# numbers over the tiles available here — twice: as published, and after registering each
# blurred tile onto its sharp partner. The pairs turn out to be shifted by up to ~22 px (refocusing
# an SEM moves the field), which costs several dB on its own and matters for training: a network
# cannot learn a different random shift per image.

# %%
if config.data_path("midnet-sem"):
    sem = midnet_sem(grey=True)
    sem_registered = midnet_sem(grey=True, register=True, max_shift_px=32, trim=True)
    take = list(range(0, len(sem), max(1, len(sem) // S["n_sem_pairs"])))[: S["n_sem_pairs"]]
    sem_table = pd.concat([
        metrics.evaluate_pairs([(ds[i]["name"], ds[i]["blur"], ds[i]["sharp"]) for i in take],
                               data_range=1.0).assign(pairs=label)
        for label, ds in (("as published", sem), ("registered", sem_registered))])
    sem_summary = metrics.summarize(sem_table.drop(columns="name"), by="pairs")
    shifts = np.array([sem_registered[i]["shift"] for i in take])
    print(f"registration shifts (dy, dx) in px: median |dy| {np.median(np.abs(shifts[:, 0])):.1f}, "
          f"median |dx| {np.median(np.abs(shifts[:, 1])):.1f}, largest {np.abs(shifts).max():.1f}")
    save_table(sem_summary, "00_sem_blurry_vs_sharp")
    item = sem[take[0]]
    fig = show_images({f"blurred {item['name']}": item["blur"], "sharp": item["sharp"],
                       "blurred (zoom)": item["blur"][192:320, 192:320],
                       "sharp (zoom)": item["sharp"][192:320, 192:320]}, size=3.2)
    save_figure(fig, "00_sem_pair")
    print(f"{len(take)} of {len(sem)} SEM pairs, groups {sem.groups}")
    display(sem_summary)
else:
    print("midnet-sem not found under the data root: section skipped (set DEBLURLAB_DATA).")

# %% [markdown]
# The other real sets with a blurred image: two natural-scene motion-blur pairs from the GoPro
# benchmark (paper 000 tests transfer to them), the one real BBBC006 pair (a defocused
# fluorescence plane registered onto its in-focus partner: the recorded shift is the
# registration's estimate), and an SEM defocus series that has *no* sharp plane at all — usable
# only for blind methods and sharpness curves.

# %%
others = {}
if config.data_path("gopro-pairs"):
    blurred_file = sorted(config.data_path("gopro-pairs").glob("*_blur*.png"))[0]
    for role, path in (("blurred", blurred_file), ("sharp", Path(str(blurred_file).replace("_blur", "_sharp")))):
        others[f"GoPro {path.stem.split('_')[0]} ({role})"] = grey_crop(read_image(path)[0])
if config.data_path("bbbc006-samples"):
    bbbc = focus.bbbc006_sample_pairs(register=True)[0]
    lo, hi = np.percentile(bbbc["sharp"], [0.5, 99.8])
    stretch = lambda a: np.clip((a - lo) / (hi - lo), 0, 1)  # noqa: E731 — display only
    others[f"BBBC006 {bbbc['name']} defocused"] = stretch(bbbc["blur"])
    others[f"in focus (shift {bbbc['shift'][0]:+.1f}, {bbbc['shift'][1]:+.1f} px)"] = stretch(bbbc["sharp"])
if config.data_path("sem-defocus-series"):
    sem_series = focus.load_sem_defocus_series()
    for dz, plane in zip(sem_series.defocus, sem_series.planes):
        others[f"SEM {dz:+.1f} µm (no sharp plane)"] = grey_crop(plane)
if others:
    fig = show_images(others, ncols=4, size=2.8)
    save_figure(fig, "00_other_real_sets")
else:
    print("no other real sets under the data root")

# %% [markdown]
# **Question.** The blurred SEM tiles were acquired, not simulated. Zoom into the pair: is the
# blur the same everywhere in the tile? What does that mean for a method that assumes one PSF
# per image (like Wiener deconvolution below)?

# %% [markdown]
# ## 3 · Real focus series
#
# A focus series images one field at many focus positions. The in-focus plane is the reference;
# every other plane is a real, physically blurred version of it. We load each series present:
#
# * `dfnn-lightsheet` (stack): light-sheet fluorescence of microtubules, 0.05 µm steps;
#   intensities use only a small part of the 16-bit range, so they are rescaled for display;
# * `reflected-focus`: reflected-light images of metal patterns on a wafer, offsets in µm;
# * `smear-focus`: a brightfield smear, focus *steps* of unknown size.
#
# Without real data a simulated series (section 5's optics) stands in.

# %%
series = {}
if config.data_path("dfnn-lightsheet"):
    series["dfnn-lightsheet"] = focus.load_dfnn_stack(grey=True).rescaled()
if config.data_path("reflected-focus"):
    series["reflected-focus"] = focus.load_reflected_focus(
        field=focus.reflected_focus_fields()[0], grey=True)
if config.data_path("smear-focus"):
    series["smear-focus"] = focus.load_smear_focus(grey=True)

sim_sharp = phantoms.make_phantom("particles", (SIZE, SIZE), seed=SEED)
# Noise-free on purpose: the metric curves in section 8 should show the effect of defocus alone.
sim_series = simulate.focus_series(sim_sharp, DEFOCUS_UM, optics=OPTICS, seed=SEED)
if not series:
    print("no real focus series under the data root — showing the simulated one only")

for name, fs in series.items():
    idx = subsample(fs.defocus, 5)
    panels = {"reference (in focus)": grey_crop(fs.reference_of(int(idx[0])))}
    panels.update({f"{fs.defocus[i]:+.2f} {fs.unit}": grey_crop(fs.planes[i]) for i in idx})
    fig = show_images(panels, size=2.6, suptitle=f"{name}: {len(fs)} defocused planes")
    save_figure(fig, f"00_focus_series_{name}")
    plt.show()

# %% [markdown]
# ## 4 · Embedded synthetic data
#
# When no real data is configured, every notebook trains and evaluates on procedural sharp images
# (seeded, so every run sees the same pictures) blurred by the simulator. The kinds mimic
# microscopy content: metallographic grains with etched boundaries, SEM-like particles, fibres,
# the TEM paper's "kidney-like" spots and curves, line gratings and a calibration grid.

# %%
gallery = {kind: phantoms.make_phantom(kind, (SIZE, SIZE), seed=SEED) for kind in phantoms.PHANTOM_KINDS}
fig = show_images(gallery, ncols=4, size=2.6)
save_figure(fig, "00_phantoms");

# %% [markdown]
# ## 5 · Point-spread functions
#
# **Defocus.** A widefield microscope's PSF at defocus $\Delta z$ follows from scalar
# diffraction: the pupil (a disc of radius NA/λ in the frequency plane) is multiplied by the
# defocus phase $2\pi\Delta z\,(\sqrt{(n/\lambda)^2 - f^2} - n/\lambda)$ and the PSF is
# $|\mathcal{F}^{-1}(\text{pupil})|^2$. In focus it is the Airy pattern; out of focus it
# approaches the geometric "pillbox" of radius $|\Delta z|\tan(\arcsin(\mathrm{NA}/n))$ but keeps
# its diffraction rings. `OPTICS` picks the objective, wavelength and pixel size.

# %%
optics = psf.optics_preset(OPTICS)
print(OPTICS, optics)
defocus_psfs = {dz: psf.defocus_psf(dz, **optics) for dz in DEFOCUS_UM}
side = max(k.shape[0] for k in defocus_psfs.values())


def pad_to(k, n):
    p = (n - k.shape[0]) // 2
    return np.pad(k, p)


fig, axes = plt.subplots(1, len(DEFOCUS_UM), figsize=(2.2 * len(DEFOCUS_UM), 2.4))
for ax, (dz, k) in zip(axes, defocus_psfs.items()):
    ax.imshow(np.sqrt(pad_to(k, side)), cmap="magma")  # sqrt shows the faint rings
    ax.set_title(f"Δz = {dz:g} µm", fontsize=9)
    ax.set_axis_off()
fig.suptitle(f"defocus PSFs (√ intensity), {OPTICS}")
save_figure(fig, "00_defocus_psfs");

rms = [psf.psf_rms_radius(k) for k in defocus_psfs.values()]
geometric = [psf.defocus_blur_radius_um(dz, na=optics["na"], refractive_index=optics["refractive_index"])
             / optics["pixel_size_um"] for dz in DEFOCUS_UM]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(DEFOCUS_UM, rms, "o-", label="diffraction PSF, RMS radius")
ax1.plot(DEFOCUS_UM, np.array(geometric) / np.sqrt(2), "--", label="pillbox RMS radius (R/√2)")
ax1.set(xlabel="defocus (µm)", ylabel="radius (px)", title="blur grows with defocus")
ax1.legend()
dz_show = DEFOCUS_UM[len(DEFOCUS_UM) // 2]
k_diff = defocus_psfs[dz_show]
k_box = psf.pillbox_psf(geometric[len(DEFOCUS_UM) // 2], size=k_diff.shape[0])
c = k_diff.shape[0] // 2
ax2.plot(np.arange(-c, c + 1), k_diff[c], label="diffraction")
ax2.plot(np.arange(-c, c + 1), k_box[c], label="geometric pillbox")
ax2.set(xlabel="x (px)", ylabel="PSF (centre row)", title=f"profiles at Δz = {dz_show:g} µm")
ax2.legend()
fig.tight_layout()
save_figure(fig, "00_psf_radius_and_profile");

# %% [markdown]
# **Motion.** Stage drift or a moving specimen during the exposure smears every point along a
# path — a line of length `MOTION_LENGTH_PX` at `MOTION_ANGLE_DEG`, here with a little random
# jitter (the TEM paper's bursts are blurred vertically this way).

# %%
motion = psf.motion_psf(MOTION_LENGTH_PX, MOTION_ANGLE_DEG, jitter_px=1.0, rng=rng)
gauss = psf.gaussian_psf(2.0)
fig = show_images({"Gaussian σ=2 px": gauss, f"motion {MOTION_LENGTH_PX:g} px": motion,
                   f"defocus {dz_show:g} µm": k_diff}, vmin=None, vmax=None, cmap="magma")
save_figure(fig, "00_psf_kinds");

# %% [markdown]
# **Task.** Change `OPTICS` to `"lightsheet"` (NA 1.1, water) and re-run sections 5–6. How much
# defocus gives the same blur radius as 10 µm with the 20×/0.45 objective? Check your answer
# with `psf.defocus_blur_radius_um`.

# %% [markdown]
# ## 6 · Blur and noise
#
# The same sharp microstructure degraded three ways, then with Poisson–Gaussian noise at a photon
# budget of `PHOTONS` per unit intensity (shot noise has variance $x/\text{photons}$) plus
# `READ_NOISE`.

# %%
sharp = phantoms.make_phantom("grains", (SIZE, SIZE), seed=SEED)
blurred = {
    "sharp": sharp,
    "Gaussian σ=2 px": simulate.blur(sharp, gauss),
    f"motion {MOTION_LENGTH_PX:g} px": simulate.blur(sharp, motion),
    f"defocus {dz_show:g} µm": simulate.blur(sharp, k_diff),
}
noisy = simulate.add_poisson_gaussian_noise(blurred[f"defocus {dz_show:g} µm"], photons=PHOTONS,
                                            read_noise=READ_NOISE, rng=rng)
blurred[f"+ noise ({PHOTONS:g} photons)"] = noisy
fig = show_images(blurred, ncols=5, size=2.8)
save_figure(fig, "00_blur_and_noise");

# %% [markdown]
# ## 7 · Blur in the Fourier domain
#
# Convolution is multiplication in the Fourier domain, so blur *attenuates high spatial
# frequencies*: the centred log-magnitude spectrum $20\log_{10}|F|$ loses its outer region, and
# the horizontal/vertical line profiles through the centre drop at high frequency. Noise adds a
# flat floor. Paper 000 reads these spectra at $\pm 0.25$ cycles/px, where stride-2 up-sampling
# layers leave a period-4 artifact; a plain blur shows nothing special there. The bright cross
# through the centre of the blurred spectrum is not blur: the FFT treats the image as periodic,
# and the jump between opposite borders puts energy on the axes (a Hann window,
# `window="hann"`, removes it — the paper uses none).

# %%
spectra_inputs = {"sharp": sharp, f"defocus {dz_show:g} µm": blurred[f"defocus {dz_show:g} µm"],
                  "+ noise": noisy}
fig, axes = plt.subplots(1, 5, figsize=(20, 3.8))
for ax, (name, im) in zip(axes[:3], spectra_inputs.items()):
    spec, fy, fx = spectra.magnitude_spectrum_db(im)
    ax.imshow(spec, cmap="inferno", extent=(fx[0], fx[-1], fy[-1], fy[0]))
    ax.set(title=name, xlabel="fx (cycles/px)", ylabel="fy (cycles/px)")
    prof = spectra.line_profiles(spec, fy, fx)["horizontal"]
    axes[3].plot(*prof, label=name, lw=1)
    axes[4].semilogy(*spectra.radial_psd(im), label=name)
for f in (-ARTIFACT_FREQ, ARTIFACT_FREQ):
    axes[3].axvline(f, color="grey", ls=":")
axes[3].set(title="horizontal profile (dB)", xlabel="cycles/px")
axes[4].set(title="radially averaged PSD", xlabel="cycles/px")
axes[3].legend(fontsize=8)
fig.tight_layout()
save_figure(fig, "00_spectra");

levels = pd.DataFrame({name: {f"dB at ±{ARTIFACT_FREQ:g} c/px": spectra.db_at_frequency(*spectra.magnitude_spectrum_db(im), f=ARTIFACT_FREQ)}
                       for name, im in spectra_inputs.items()}).T
levels

# %% [markdown]
# **Question.** Why does the noisy image have *more* energy at 0.25 cycles/px than the sharp one,
# although it is blurred? What would a deblurring network that over-sharpens do to the profile?

# %% [markdown]
# ## 8 · Metrics versus defocus
#
# PSNR, SSIM and MS-SSIM of every plane against its in-focus reference (centre crops, grey,
# data range 1). A good metric for deblurring should fall steadily with defocus. Real planes are
# not perfectly registered and change brightness slightly with focus, which also lowers the
# scores — the simulated series has neither problem.

# %%
def metrics_vs_defocus(fs_planes, defocus, references, unit, name):
    rows = []
    for i in subsample(defocus, S["max_planes"]):
        blurred_plane, ref = grey_crop(fs_planes[i]), grey_crop(references[i])
        rows.append({"series": name, "defocus": float(defocus[i]), "unit": unit,
                     "psnr": metrics.psnr(blurred_plane, ref, data_range=1.0),
                     "ssim": metrics.ssim(blurred_plane, ref, data_range=1.0),
                     "ms_ssim": metrics.ms_ssim(blurred_plane, ref, data_range=1.0)})
    return rows


rows = metrics_vs_defocus(sim_series.planes, sim_series.defocus_um,
                          [sim_series.reference] * len(sim_series.defocus_um), "µm", "simulated")
for name, fs in series.items():
    rows += metrics_vs_defocus(fs.planes, fs.defocus, [fs.reference_of(i) for i in range(len(fs))],
                               fs.unit, name)
vs_defocus = pd.DataFrame(rows)
save_table(vs_defocus.set_index(["series", "defocus"]), "00_metrics_vs_defocus");

names = vs_defocus["series"].unique()
fig, axes = plt.subplots(len(names), 3, figsize=(12, 2.8 * len(names)), squeeze=False)
for row, name in zip(axes, names):
    part = vs_defocus[vs_defocus["series"] == name]
    for ax, metric in zip(row, ("psnr", "ssim", "ms_ssim")):
        ax.plot(part["defocus"], part[metric], "o-")
        ax.set(title=f"{name}: {metric}", xlabel=f"defocus ({part['unit'].iloc[0]})")
fig.tight_layout()
save_figure(fig, "00_metrics_vs_defocus");

# %% [markdown]
# **Question.** Which metric separates small defocus values best, which saturates first? Is any
# of them linear in defocus (paper 000's Fig. 8 asks exactly this)?

# %% [markdown]
# ## 9 · Classical deconvolution: Wiener and Richardson–Lucy
#
# With a known PSF, the Wiener filter inverts the blur in one step, regularised against noise;
# Richardson–Lucy iterates a Poisson maximum-likelihood update (`RL_ITERATIONS`). On simulated
# data we know the PSF exactly. On a real focus series we do not, so we *calibrate* one: the
# Gaussian width that best maps the in-focus reference onto the blurred plane
# (`classical.fit_gaussian_psf`). That uses the reference, so it is an upper bound on what a
# blind method could do — say so whenever you report it.

# %%
cases = {f"simulated grains, defocus {dz_show:g} µm": (noisy, sharp, k_diff)}
for name, fs in series.items():
    i = int(np.argsort(np.abs(fs.defocus))[min(2, len(fs) - 1)])  # a moderately defocused plane
    plane, ref = grey_crop(fs.planes[i]), grey_crop(fs.reference_of(i))
    fitted, info = classical.fit_gaussian_psf(plane, ref)
    cases[f"{name}, {fs.defocus[i]:+.2f} {fs.unit} (fitted σ={info['sigma_px']:g} px)"] = (plane, ref, fitted)

rows = []
for case_number, (name, (blurred_image, reference, kernel)) in enumerate(cases.items()):
    restored = {
        "blurred": blurred_image,
        "Wiener": classical.wiener(blurred_image, kernel, balance=WIENER_BALANCE),
        "Richardson–Lucy": classical.richardson_lucy(blurred_image, kernel, iterations=S["rl_iterations"]),
    }
    for method, image in restored.items():
        rows.append({"case": name, "method": method,
                     "psnr": metrics.psnr(image, reference, data_range=1.0),
                     "ssim": metrics.ssim(image, reference, data_range=1.0)})
    shown = {**restored, "reference": reference}
    fig = show_images(shown, size=3.0, suptitle=name)
    save_figure(fig, f"00_classical_case{case_number}")
    plt.show()
classical_table = pd.DataFrame(rows).set_index(["case", "method"]).round(3)
save_table(classical_table, "00_classical_baselines");
classical_table

# %% [markdown]
# **What to notice.** With the exact PSF (simulated case) both methods gain over the blurred
# input. On the real series the calibrated Gaussian is only an approximation of the true
# defocus PSF, and the planes also differ from the reference in brightness and position —
# classical deconvolution then gains little or loses. This gap is what learned methods address.
#
# **Task.** Increase `PHOTONS` to 10000 and decrease it to 20. How do Wiener and
# Richardson–Lucy react to noise? Set `WIENER_BALANCE = 1e-4`: what happens on the real planes?
# Then set `RL_ITERATIONS = 200`: what appears around edges?
#
# ## What this notebook differs from the papers in
#
# * It analyses centre crops (`smoke`/`quick`) rather than whole images; `paper` uses whole images.
# * The optics presets' NA and pixel sizes for the real sets are typical values, not published
#   ones (see `deblurlab.psf.PRESET_NOTES`); the simulated series is therefore "BBBC006-like",
#   not BBBC006.
# * Real focus planes are compared to their reference without registration; residual shifts and
#   brightness changes lower the metrics beyond what blur alone does.
