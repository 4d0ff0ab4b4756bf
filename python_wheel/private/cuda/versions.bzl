"""CUDA toolkit versions and the NVIDIA PyPI wheels that make them up.

`CUDA_VERSIONS` maps a full CUDA version (x.y.z, as NVIDIA names its releases and
`redistrib_<x.y.z>.json` manifests) to its components. Each component is either
a wheel (`_wheel`: PyPI project, its version, the directory inside the wheel that
holds `bin/ include/ lib/ nvvm/`, and per CPU the wheel's path under
`https://files.pythonhosted.org/packages/` with its sha256) or part of another
component's wheel (`_included_in`: CUDA 12's nvcc wheel carries crt and nvvm).

Component versions follow NVIDIA's release manifests for that CUDA release (the
same pins PyTorch's cu129/cu130 builds use). CUDA 13 wheels all unpack under
`nvidia/cu13/`; CUDA 12 (`*-cu12`) wheels under `nvidia/<component>/`.
NVIDIA publishes `nvidia-cuda-cuobjdump` and `nvidia-cuda-nvdisasm` wheels only
from CUDA 13.2 on, so only 13.2.0 has those components; and CUDA 12's
`nvidia-cuda-nvcc-cu12` wheel has ptxas but no nvcc driver, so 12.x lists it as
`ptxas` and has no `nvcc` component.

Regenerate or extend: `pip install --dry-run --no-deps --only-binary=:all:
--platform manylinux_2_27_x86_64 --report r.json PKG==VER` prints the URL and
sha256 without downloading; `scripts/cuda_wheels.sh` downloads the pinned files.
A later source (NVIDIA's redistrib JSON) adds its own table; the repository rule
dispatches on the source, not on this table's shape.
"""

CUDA_WHEELS_BASE_URL = "https://files.pythonhosted.org/packages"

# What a toolkit repository fetches when `components` is not given: enough
# for nvcc to compile and for code to link cudart.
DEFAULT_COMPONENTS = ["cccl", "crt", "cudart", "nvcc", "nvvm"]

# Every component name the table may hold, and what each provides.
KNOWN_COMPONENTS = {
    "cccl": "CUDA C++ core libraries headers (thrust, cub, libcu++)",
    "crt": "nvcc's crt/ headers",
    "cublas": "cuBLAS",
    "cudart": "the CUDA runtime (libcudart.so, libcudart_static.a) and its headers",
    "cufft": "cuFFT",
    "cuobjdump": "bin/cuobjdump",
    "cupti": "CUPTI (profiling)",
    "curand": "cuRAND",
    "cusolver": "cuSOLVER",
    "cusparse": "cuSPARSE",
    "nvcc": "bin/nvcc, ptxas, fatbinary, nvlink, cudafe++, bin2c (CUDA 13 wheels)",
    "nvdisasm": "bin/nvdisasm",
    "nvjitlink": "nvJitLink",
    "nvrtc": "NVRTC",
    "nvvm": "nvvm/ (cicc, libdevice, libnvvm)",
    "ptxas": "bin/ptxas alone (CUDA 12's nvidia-cuda-nvcc-cu12 wheel, which has no nvcc driver)",
}

# Components whose shared libraries a program loads at run time (what a wheel
# built against this toolkit depends on through NVIDIA's wheels), and the
# library each provides.
RUNTIME_LIBRARIES = {
    "cublas": "libcublas",
    "cudart": "libcudart",
    "cufft": "libcufft",
    "cupti": "libcupti",
    "curand": "libcurand",
    "cusolver": "libcusolver",
    "cusparse": "libcusparse",
    "nvjitlink": "libnvJitLink",
    "nvrtc": "libnvrtc",
}

RUNTIME_LIBRARY_COMPONENTS = sorted(RUNTIME_LIBRARIES.keys())

def _wheel(package, version, strip_prefix, x86_64, aarch64):
    return {
        "package": package,
        "strip_prefix": strip_prefix,
        "version": version,
        "wheels": {"aarch64": aarch64, "x86_64": x86_64},
    }

def _included_in(component):
    return {"included_in": component}

CUDA_VERSIONS = {
    "12.9.1": {
        "cccl": _wheel(
            package = "nvidia-cuda-cccl-cu12",
            version = "12.9.27",
            strip_prefix = "nvidia/cuda_cccl",
            x86_64 = ("18/2a/d4cd8506d2044e082f8cd921be57392e6a9b5ccd3ffdf050362430a3d5d5/nvidia_cuda_cccl_cu12-12.9.27-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "37869e17ce2e1ecec6eddf1927cca0f8c34e64fd848d40453df559091e2d7117"),
            aarch64 = ("61/7e/82e49956b046bdc506c789235c587d9b3ef58b8bc1782258c1e247229647/nvidia_cuda_cccl_cu12-12.9.27-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "d7898b38aa68beaa234d48f0868273702342a196d6e2e9d0ef058dca2390ebea"),
        ),
        "cublas": _wheel(
            package = "nvidia-cublas-cu12",
            version = "12.9.1.4",
            strip_prefix = "nvidia/cublas",
            x86_64 = ("77/3c/aa88abe01f3be3d1f8f787d1d33dc83e76fec05945f9a28fbb41cfb99cd5/nvidia_cublas_cu12-12.9.1.4-py3-none-manylinux_2_27_x86_64.whl", "453611eb21a7c1f2c2156ed9f3a45b691deda0440ec550860290dc901af5b4c2"),
            aarch64 = ("82/6c/90d3f532f608a03a13c1d6c16c266ffa3828e8011b1549d3b61db2ad59f5/nvidia_cublas_cu12-12.9.1.4-py3-none-manylinux_2_27_aarch64.whl", "7a950dae01add3b415a5a5cdc4ec818fb5858263e9cca59004bb99fdbbd3a5d6"),
        ),
        "cudart": _wheel(
            package = "nvidia-cuda-runtime-cu12",
            version = "12.9.79",
            strip_prefix = "nvidia/cuda_runtime",
            x86_64 = ("bc/46/a92db19b8309581092a3add7e6fceb4c301a3fd233969856a8cbf042cd3c/nvidia_cuda_runtime_cu12-12.9.79-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "25bba2dfb01d48a9b59ca474a1ac43c6ebf7011f1b0b8cc44f54eb6ac48a96c3"),
            aarch64 = ("bc/e0/0279bd94539fda525e0c8538db29b72a5a8495b0c12173113471d28bce78/nvidia_cuda_runtime_cu12-12.9.79-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "83469a846206f2a733db0c42e223589ab62fd2fabac4432d2f8802de4bded0a4"),
        ),
        "cufft": _wheel(
            package = "nvidia-cufft-cu12",
            version = "11.4.1.4",
            strip_prefix = "nvidia/cufft",
            x86_64 = ("95/f4/61e6996dd20481ee834f57a8e9dca28b1869366a135e0d42e2aa8493bdd4/nvidia_cufft_cu12-11.4.1.4-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "c67884f2a7d276b4b80eb56a79322a95df592ae5e765cf1243693365ccab4e28"),
            aarch64 = ("9b/2b/76445b0af890da61b501fde30650a1a4bd910607261b209cccb5235d3daa/nvidia_cufft_cu12-11.4.1.4-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "1a28c9b12260a1aa7a8fd12f5ebd82d027963d635ba82ff39a1acfa7c4c0fbcf"),
        ),
        "cupti": _wheel(
            package = "nvidia-cuda-cupti-cu12",
            version = "12.9.79",
            strip_prefix = "nvidia/cuda_cupti",
            x86_64 = ("c1/2e/b84e32197e33f39907b455b83395a017e697c07a449a2b15fd07fc1c9981/nvidia_cuda_cupti_cu12-12.9.79-py3-none-manylinux_2_25_x86_64.whl", "096bcf334f13e1984ba36685ad4c1d6347db214de03dbb6eebb237b41d9d934f"),
            aarch64 = ("b4/78/351b5c8cdbd9a6b4fb0d6ee73fb176dcdc1b6b6ad47c2ffff5ae8ca4a1f7/nvidia_cuda_cupti_cu12-12.9.79-py3-none-manylinux_2_25_aarch64.whl", "791853b030602c6a11d08b5578edfb957cadea06e9d3b26adbf8d036135a4afe"),
        ),
        "curand": _wheel(
            package = "nvidia-curand-cu12",
            version = "10.3.10.19",
            strip_prefix = "nvidia/curand",
            x86_64 = ("31/44/193a0e171750ca9f8320626e8a1f2381e4077a65e69e2fb9708bd479e34a/nvidia_curand_cu12-10.3.10.19-py3-none-manylinux_2_27_x86_64.whl", "49b274db4780d421bd2ccd362e1415c13887c53c214f0d4b761752b8f9f6aa1e"),
            aarch64 = ("14/1c/2a45afc614d99558d4a773fa740d8bb5471c8398eeed925fc0fcba020173/nvidia_curand_cu12-10.3.10.19-py3-none-manylinux_2_27_aarch64.whl", "de663377feb1697e1d30ed587b07d5721fdd6d2015c738d7528a6002a6134d37"),
        ),
        "cusolver": _wheel(
            package = "nvidia-cusolver-cu12",
            version = "11.7.5.82",
            strip_prefix = "nvidia/cusolver",
            x86_64 = ("33/40/79b0c64d44d6c166c0964ec1d803d067f4a145cca23e23925fd351d0e642/nvidia_cusolver_cu12-11.7.5.82-py3-none-manylinux_2_27_x86_64.whl", "15da72d1340d29b5b3cf3fd100e3cd53421dde36002eda6ed93811af63c40d88"),
            aarch64 = ("03/99/686ff9bf3a82a531c62b1a5c614476e8dfa24a9d89067aeedf3592ee4538/nvidia_cusolver_cu12-11.7.5.82-py3-none-manylinux_2_27_aarch64.whl", "62efa83e4ace59a4c734d052bb72158e888aa7b770e1a5f601682f16fe5b4fd2"),
        ),
        "cusparse": _wheel(
            package = "nvidia-cusparse-cu12",
            version = "12.5.10.65",
            strip_prefix = "nvidia/cusparse",
            x86_64 = ("12/46/b0fd4b04f86577921feb97d8e2cf028afe04f614d17fb5013de9282c9216/nvidia_cusparse_cu12-12.5.10.65-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "73060ce019ac064a057267c585bf1fd5a353734151f87472ff02b2c5c9984e78"),
            aarch64 = ("5e/6f/8710fbd17cdd1d0fc3fea7d36d5b65ce1933611c31e1861da330206b253a/nvidia_cusparse_cu12-12.5.10.65-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "221c73e7482dd93eda44e65ce567c031c07e2f93f6fa0ecd3ba876a195023e83"),
        ),
        # nvidia-cuda-nvcc-cu12 holds ptxas, crt/ headers and nvvm/ (libnvvm,
        # libdevice) but no nvcc driver, no cicc and no fatbinary: CUDA 12
        # wheels cannot compile .cu files (use LOCAL_CUDA_PATH or CUDA 13).
        "ptxas": _wheel(
            package = "nvidia-cuda-nvcc-cu12",
            version = "12.9.86",
            strip_prefix = "nvidia/cuda_nvcc",
            x86_64 = ("25/48/b54a06168a2190572a312bfe4ce443687773eb61367ced31e064953dd2f7/nvidia_cuda_nvcc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", "5d6a0d32fdc7ea39917c20065614ae93add6f577d840233237ff08e9a38f58f0"),
            aarch64 = ("d6/5c/8cc072436787104bbbcbde1f76ab4a0d89e68f7cebc758dd2ad7913a43d0/nvidia_cuda_nvcc_cu12-12.9.86-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "44e1eca4d08926193a558d2434b1bf83d57b4d5743e0c431c0c83d51da1df62b"),
        ),
        "nvjitlink": _wheel(
            package = "nvidia-nvjitlink-cu12",
            version = "12.9.86",
            strip_prefix = "nvidia/nvjitlink",
            x86_64 = ("46/0c/c75bbfb967457a0b7670b8ad267bfc4fffdf341c074e0a80db06c24ccfd4/nvidia_nvjitlink_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", "e3f1171dbdc83c5932a45f0f4c99180a70de9bd2718c1ab77d14104f6d7147f9"),
            aarch64 = ("97/bc/2dcba8e70cf3115b400fef54f213bcd6715a3195eba000f8330f11e40c45/nvidia_nvjitlink_cu12-12.9.86-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "994a05ef08ef4b0b299829cde613a424382aff7efb08a7172c1fa616cc3af2ca"),
        ),
        "nvrtc": _wheel(
            package = "nvidia-cuda-nvrtc-cu12",
            version = "12.9.86",
            strip_prefix = "nvidia/cuda_nvrtc",
            x86_64 = ("b8/85/e4af82cc9202023862090bfca4ea827d533329e925c758f0cde964cb54b7/nvidia_cuda_nvrtc_cu12-12.9.86-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", "210cf05005a447e29214e9ce50851e83fc5f4358df8b453155d5e1918094dcb4"),
            aarch64 = ("64/eb/c2295044b8f3b3b08860e2f6a912b702fc92568a167259df5dddb78f325e/nvidia_cuda_nvrtc_cu12-12.9.86-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "096d4de6bda726415dfaf3198d4f5c522b8e70139c97feef5cd2ca6d4cd9cead"),
        ),
        "crt": _included_in("ptxas"),
        "nvvm": _included_in("ptxas"),
    },
    "13.0.2": {
        "cccl": _wheel(
            package = "nvidia-cuda-cccl",
            version = "13.0.85",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("ab/fb/0384bb2129bed6b1b39f8e44471c615ab5ab29b7e55817538a1d390d8f84/nvidia_cuda_cccl-13.0.85-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649"),
            aarch64 = ("27/cf/b667064e446ad359eca302fc8ef3784393c9aba6606c2e74dd9b695f114a/nvidia_cuda_cccl-13.0.85-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "6f0203e29fed809ee2b7fe9b1344df66ecab990c37d6a2e0e189b26d6c97ed7c"),
        ),
        "crt": _wheel(
            package = "nvidia-cuda-crt",
            version = "13.0.88",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("05/69/a1ec4d9f0747d85964206feb47bf359f48a2d6af74c0add8abba6efe3dda/nvidia_cuda_crt-13.0.88-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4"),
            aarch64 = ("49/b9/2cb230193e1570221eee8c9739f965bb4874bad44ee4c3373a5860d24c90/nvidia_cuda_crt-13.0.88-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "ee2ea2a97073e02ee62bb27841f437332be2c248e3eac013df07997ada39c003"),
        ),
        "cublas": _wheel(
            package = "nvidia-cublas",
            version = "13.1.0.3",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("e7/44/423ac00af4dd95a5aeb27207e2c0d9b7118702149bf4704c3ddb55bb7429/nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_x86_64.whl", "ee8722c1f0145ab246bccb9e452153b5e0515fd094c3678df50b2a0888b8b171"),
            aarch64 = ("e1/a5/fce49e2ae977e0ccc084e5adafceb4f0ac0c8333cb6863501618a7277f67/nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_aarch64.whl", "c86fc7f7ae36d7528288c5d88098edcb7b02c633d262e7ddbb86b0ad91be5df2"),
        ),
        "cudart": _wheel(
            package = "nvidia-cuda-runtime",
            version = "13.0.96",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("2e/24/d1558f3b68b1d26e706813b1d10aa1d785e4698c425af8db8edc3dced472/nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"),
            aarch64 = ("87/4f/17d7b9b8e285199c58ce28e31b5c5bbaa4d8271af06a89b6405258245de2/nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "ef9bcbe90493a2b9d810e43d249adb3d02e98dd30200d86607d8d02687c43f55"),
        ),
        "cufft": _wheel(
            package = "nvidia-cufft",
            version = "12.0.0.61",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("a8/2f/7b57e29836ea8714f81e9898409196f47d772d5ddedddf1592eadb8ab743/nvidia_cufft-12.0.0.61-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "6c44f692dce8fd5ffd3e3df134b6cdb9c2f72d99cf40b62c32dde45eea9ddad3"),
            aarch64 = ("8b/ae/f417a75c0259e85c1d2f83ca4e960289a5f814ed0cea74d18c353d3e989d/nvidia_cufft-12.0.0.61-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "2708c852ef8cd89d1d2068bdbece0aa188813a0c934db3779b9b1faa8442e5f5"),
        ),
        "cupti": _wheel(
            package = "nvidia-cuda-cupti",
            version = "13.0.85",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("33/6d/737d164b4837a9bbd202f5ae3078975f0525a55730fe871d8ed4e3b952b0/nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl", "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8"),
            aarch64 = ("2a/2a/80353b103fc20ce05ef51e928daed4b6015db4aaa9162ed0997090fe2250/nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_aarch64.whl", "796bd679890ee55fb14a94629b698b6db54bcfd833d391d5e94017dd9d7d3151"),
        ),
        "curand": _wheel(
            package = "nvidia-curand",
            version = "10.4.0.35",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("a5/9f/be0a41ca4a4917abf5cb9ae0daff1a6060cc5de950aec0396de9f3b52bc5/nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_x86_64.whl", "1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc"),
            aarch64 = ("1e/72/7c2ae24fb6b63a32e6ae5d241cc65263ea18d08802aaae087d9f013335a2/nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_aarch64.whl", "133df5a7509c3e292aaa2b477afd0194f06ce4ea24d714d616ff36439cee349a"),
        ),
        "cusolver": _wheel(
            package = "nvidia-cusolver",
            version = "12.0.4.66",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("5f/67/cba3777620cdacb99102da4042883709c41c709f4b6323c10781a9c3aa34/nvidia_cusolver-12.0.4.66-py3-none-manylinux_2_27_x86_64.whl", "0a759da5dea5c0ea10fd307de75cdeb59e7ea4fcb8add0924859b944babf1112"),
            aarch64 = ("c8/c3/b30c9e935fc01e3da443ec0116ed1b2a009bb867f5324d3f2d7e533e776b/nvidia_cusolver-12.0.4.66-py3-none-manylinux_2_27_aarch64.whl", "02c2457eaa9e39de20f880f4bd8820e6a1cfb9f9a34f820eb12a155aa5bc92d2"),
        ),
        "cusparse": _wheel(
            package = "nvidia-cusparse",
            version = "12.6.3.3",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("fa/18/623c77619c31d62efd55302939756966f3ecc8d724a14dab2b75f1508850/nvidia_cusparse-12.6.3.3-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "2b3c89c88d01ee0e477cb7f82ef60a11a4bcd57b6b87c33f789350b59759360b"),
            aarch64 = ("f8/94/5c26f33738ae35276672f12615a64bd008ed5be6d1ebcb23579285d960a9/nvidia_cusparse-12.6.3.3-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "80bcc4662f23f1054ee334a15c72b8940402975e0eab63178fc7e670aa59472c"),
        ),
        "nvcc": _wheel(
            package = "nvidia-cuda-nvcc",
            version = "13.0.88",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("71/8b/a546c12881fffeba927d810598987df25d74b8b241788c7db8dfc93b0173/nvidia_cuda_nvcc-13.0.88-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "56fe502eb77625a12f25172caa3cdddb4e4c8ba2c8c17dba44b164761b380f03"),
            aarch64 = ("9f/06/996d5cdc5ea45fb4a6111a1be4f0caf6556c0cb1bf9684a7252d8771797a/nvidia_cuda_nvcc-13.0.88-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "c7ff28f86a24effdc6c034fa15230c549a273e4771b10a7fec14996f8cf3307f"),
        ),
        "nvjitlink": _wheel(
            package = "nvidia-nvjitlink",
            version = "13.0.88",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("56/7a/123e033aaff487c77107195fa5a2b8686795ca537935a24efae476c41f05/nvidia_nvjitlink-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", "13a74f429e23b921c1109976abefacc69835f2f433ebd323d3946e11d804e47b"),
            aarch64 = ("ab/2c/93c5250e64df4f894f1cbb397c6fd71f79813f9fd79d7cd61de3f97b3c2d/nvidia_nvjitlink-13.0.88-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "e931536ccc7d467a98ba1d8b89ff7fa7f1fa3b13f2b0069118cd7f47bff07d0c"),
        ),
        "nvrtc": _wheel(
            package = "nvidia-cuda-nvrtc",
            version = "13.0.88",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("c3/68/483a78f5e8f31b08fb1bb671559968c0ca3a065ac7acabfc7cee55214fd6/nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", "ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575"),
            aarch64 = ("b7/dc/6bb80850e0b7edd6588d560758f17e0550893a1feaf436807d64d2da040f/nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "d27f20a0ca67a4bb34268a5e951033496c5b74870b868bacd046b1b8e0c3267b"),
        ),
        "nvvm": _wheel(
            package = "nvidia-nvvm",
            version = "13.0.88",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("15/b0/ee41e6d1108d959b5097163e7190c2d0f7857dea75606ce358f0275891b4/nvidia_nvvm-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", "c5f41ffeb6466944a026dfa5317d7d85355c119bbec279205d22f1869d1054e0"),
            aarch64 = ("a4/bd/fc52fbf7214391909d6d2b3a825fd0902ebf7fbc56227dd9c9277e8e263b/nvidia_nvvm-13.0.88-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "c4376a291d72d22a315d9d2f69bdae8f8cd83a627f75bad395cee49a0fe65dc1"),
        ),
    },
    "13.2.0": {
        "cccl": _wheel(
            package = "nvidia-cuda-cccl",
            version = "13.2.27",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("5c/c6/0d0a3ba1fb6d683bfbc27f5e622aa0c954808194851b762613eee274695c/nvidia_cuda_cccl-13.2.27-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "f71b5dbc838867d1281715f34e642263098ea2ce59d85e9192f140ee24744f49"),
            aarch64 = ("f4/9f/0678a8761631ff399e41876352b2c041c05a4630eb2888ef53f74776cd4d/nvidia_cuda_cccl-13.2.27-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "8e5c228bf1990eecd8d770d58f850b15923f78d3df1299e71c0c45054afc56c3"),
        ),
        "crt": _wheel(
            package = "nvidia-cuda-crt",
            version = "13.2.51",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("c8/5a/24af4197e8496870857fb56d5b93f65919fe5103fa311b526ec15d77a96a/nvidia_cuda_crt-13.2.51-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "f4cda277fbf1025ad291a5d3b4dc4f788056ae11921552cdbebcf0626db99ba9"),
            aarch64 = ("3e/89/34094e3b5eb0b12204ff97f8e4ee6a8df7b4a3e4811cace542fe361fe77c/nvidia_cuda_crt-13.2.51-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "e6698ddc5da548ef7501f663ea55d18627999fa782a7b975f4dcd3fe3b26ef45"),
        ),
        "cudart": _wheel(
            package = "nvidia-cuda-runtime",
            version = "13.2.51",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("a6/5a/b116ad2b7e574d691458ca0139ab4e9f26beed62184c85570636ce127b7f/nvidia_cuda_runtime-13.2.51-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "9c43b06a52c5b9316e19abc047236932c4d5c729969918a83223c4d2a4132f9a"),
            aarch64 = ("12/ec/0fa54349c6cf17054746529a3b99c6bc0049a229ac7fe667a24a244f79fa/nvidia_cuda_runtime-13.2.51-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "dfcccf62936b211a86e3cbc5fcc30647af8e601744e987f6a5925ed045b58672"),
        ),
        "cuobjdump": _wheel(
            package = "nvidia-cuda-cuobjdump",
            version = "13.2.51",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("a9/2c/af21e3b8eecbf1e9c373967fe517fd5236d061646664a98277de7d21c420/nvidia_cuda_cuobjdump-13.2.51-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "95c69d3ddf0c2c1f535ec44c3433a66aeee19f588d9d22f73356e20b25f12b50"),
            aarch64 = ("30/57/7a74e8766843c71c14868e857c9bd106107288039765cddea4717ea704a8/nvidia_cuda_cuobjdump-13.2.51-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "f2f3bc433a91f4ff910841f2de8bc9e7ce92556602d6e363054fe2bb62a587c4"),
        ),
        "nvcc": _wheel(
            package = "nvidia-cuda-nvcc",
            version = "13.2.51",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("5a/79/0da17b5b200ede8f25554f8c227c2624e26fb143c36ba7724b812c7e46ce/nvidia_cuda_nvcc-13.2.51-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "18aea9976c8a0033cc61d45baf5649a5bd8647a45999ddd50b885814a6190442"),
            aarch64 = ("4d/d8/3d1d733db86c1f18359151b0be0171b04738f17f09f98658caf9e3b5299d/nvidia_cuda_nvcc-13.2.51-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "48e070550a1290d696f055fa78443831bce5452cd2800eb3ab83f89b22c3b6cf"),
        ),
        "nvdisasm": _wheel(
            package = "nvidia-cuda-nvdisasm",
            version = "13.2.51",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("ad/34/f19b4dd50158e7dc18c55654f844d87bf188d2a2b230374620e6b126a6c9/nvidia_cuda_nvdisasm-13.2.51-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "5a7acf77c55d6d2911ed6155d4d5bc156ffadf9df7a68a89b0c1155f4b13688c"),
            aarch64 = ("32/e3/bf1272e9aa9deb5e5f323c4c1758bd03b541162823e59956bdf34a765596/nvidia_cuda_nvdisasm-13.2.51-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "483c8f652c1ca006135584b4faf7ea1d2bafe4c40ec1c9ef57a04c6acfbdd57f"),
        ),
        "nvvm": _wheel(
            package = "nvidia-nvvm",
            version = "13.2.51",
            strip_prefix = "nvidia/cu13",
            x86_64 = ("34/4c/865325b6cffe2c2c20fe63696dca29b869ea7c0845aa743c217c2fb987dd/nvidia_nvvm-13.2.51-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", "9c5725d97b1108bdb6c474784f7901c34f570319a2c2a0f279d23190070915f3"),
            aarch64 = ("8d/f2/c67ff35faf322d29a41046af76b4d9b86d8ac3f555f59d1a1defb7a4eca4/nvidia_nvvm-13.2.51-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", "bcfd4be51f011045520974bd93f467bc2d64b87f333ccbdec883a372a55aa8f6"),
        ),
    },
}
