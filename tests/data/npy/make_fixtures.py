# Writes the .npy/.npz fixtures of tests/test_npz.cpp with NumPy itself (run from this folder:
# python3 make_fixtures.py). The values are small and exact so the test can spell them out.
import numpy as np

a = np.array([[0.5, -1.0, 2.25], [3.0, 1e-3, -0.0]])
np.save("f4.npy", a.astype("<f4"))
np.save("f8_big.npy", a.astype(">f8"))
np.save("u1.npy", np.array([0, 1, 255], dtype="|u1"))
np.save("i8.npy", np.array([-3, 0, 7, 2**40], dtype="<i8"))
np.save("bool.npy", np.array([True, False]))
np.save("scalar.npy", np.float32(4.5))
np.save("empty.npy", np.zeros((0, 3), dtype="<f4"))
with open("v2.npy", "wb") as f:
    np.lib.format.write_array(f, a.astype("<f4"), version=(2, 0))
np.save("fortran.npy", np.asfortranarray(a.astype("<f4")))
np.save("unicode.npy", np.array(["ab", "c"]))
np.save("structured.npy", np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
np.savez("stored.npz", w=a.astype("<f4"), labels=np.array([1, 2], dtype="<i4"))
np.savez_compressed("deflated.npz", w=a.astype("<f4"), labels=np.array([1, 2], dtype="<i4"))
