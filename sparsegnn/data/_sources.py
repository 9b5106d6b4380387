"""Where each public dataset file comes from, and its sha256 (from the datasets' inventory).

Keys are paths inside a data root laid out like ``shared/datasets``. A source is
``(repository, commit, path in the repository, member of a zip at that path or None)``.
"""

COMMITS = {
    "tkipf/gcn": "39a4089fe72ad9f055ed6fdb9746abdcfebc4d81",
    "shchur/gnn-benchmark": "1e72912a0810cdf27ae54fd589a3b43358a2b161",
    "gasteigerjo/ppnp": "8514e4dc2c5f1e3047ad915f6a5701c24c9d94dd",
    "danielzuegner/nettack": "da8ec64b2444233ffa1a29b18e8abdfda2015679",
    "CrawlScript/gnn_datasets": "482d7152d60e429763ca256dd0906fa9badaae0c",
    "yandex-research/heterophilous-graphs": "a431395582e929d88271309716bea4fe24ce6318",
    "bknyaz/graph_nn": "72eaa1c6bd70a90fde772ad4a21049ccd6bc97a2",
    "Graph-and-Geometric-Learning/MolGroup": "ffe88439c882e6637366baae767ab5c99df39890",
    # the splits of "Revisiting LightGCN" (RecSys 2024)
    "geon0325/LightGCNpp": "a394f79a7aceb8f485f6bcb549b4865fe83f1d49",
}

# path: (bytes, sha256, repository, path in repository, zip member)
FILES = {
    "recsys/gowalla/test.txt": (
        1372559, "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3",
        "geon0325/LightGCNpp", "data/gowalla/test.txt", None,
    ),
    "recsys/gowalla/train.txt": (
        4132444, "d47e01d060624f389956c0b2f89a1ed8c453ea158631cd2b5320c241f3e1a073",
        "geon0325/LightGCNpp", "data/gowalla/train.txt", None,
    ),
    "recsys/gowalla/valid.txt": (
        669008, "ddc22c1cd9a7d14fd5cd0c98b1473b614f4323038fef74ae0d28cc9c92a08ba2",
        "geon0325/LightGCNpp", "data/gowalla/valid.txt", None,
    ),
    "recsys/ml-1m/test.txt": (
        718939, "0d58f78bbf606f401aec2efe3f519b945c458c8398955f986e03b880fbbd16a6",
        "geon0325/LightGCNpp", "data/ml-1m/test.txt", None,
    ),
    "recsys/ml-1m/train.txt": (
        2499831, "dfa3a7a866feade29ca5722ac0423c1b0317ac1f6ad38a55fc1a7ceeb9cee3bb",
        "geon0325/LightGCNpp", "data/ml-1m/train.txt", None,
    ),
    "recsys/ml-1m/valid.txt": (
        367878, "429fe0d750b304677898d7eeb1080764bbf06550b94c9508b8cc8cd0573e3dfc",
        "geon0325/LightGCNpp", "data/ml-1m/valid.txt", None,
    ),
    "heterophilous/actor.npz": (
        252956, "c350eef06b2c2a9bf8218be2b57cac6d4003d0922eb597a039e9123f75817816",
        "yandex-research/heterophilous-graphs", "data/actor.npz", None,
    ),
    "heterophilous/chameleon.npz": (
        177840, "4c640bd2877fc4f9f101531e2f977bc16445a54e09a5cb01178df608e552f3fd",
        "yandex-research/heterophilous-graphs", "data/chameleon.npz", None,
    ),
    "heterophilous/chameleon_filtered.npz": (
        58924, "bf46f07e1fb5249280447e5fe3100f3e82fc4b93ad1e13ffcfdec924b6ac0bb5",
        "yandex-research/heterophilous-graphs", "data/chameleon_filtered.npz", None,
    ),
    "heterophilous/cornell.npz": (
        30515, "684c54ba3daa13b0ba1f04a3d6dd1b1175c1ae9bdeb982851fd4ff96d3aac298",
        "yandex-research/heterophilous-graphs", "data/cornell.npz", None,
    ),
    "heterophilous/minesweeper.npz": (
        135045, "e664c8dacf1e8ac466c2c09ed4b237bd2c5541f47a6eae9c6092cb87f16412b3",
        "yandex-research/heterophilous-graphs", "data/minesweeper.npz", None,
    ),
    "heterophilous/squirrel.npz": (
        704277, "d436e3b42c0546b105241c0ab0766097074e68e55f67b133eeb9b0162e55cbd9",
        "yandex-research/heterophilous-graphs", "data/squirrel.npz", None,
    ),
    "heterophilous/squirrel_filtered.npz": (
        208215, "f06370ffb3116c5de8b7a600005400b2293c025e0ce2f6916d8201a825505ac7",
        "yandex-research/heterophilous-graphs", "data/squirrel_filtered.npz", None,
    ),
    "heterophilous/texas.npz": (
        28586, "b164b99e6c3d43e4ab07488ec59bd8c815f90cbc1bd4cf425ce587d2b534d844",
        "yandex-research/heterophilous-graphs", "data/texas.npz", None,
    ),
    "heterophilous/tolokers.npz": (
        1329769, "dacf3ac94cec53d03cd2adb5255c08b33dee1656c33ca8164a464bd9450a1667",
        "yandex-research/heterophilous-graphs", "data/tolokers.npz", None,
    ),
    "heterophilous/wisconsin.npz": (
        41672, "2543c89838cfc75f737f7c4664cc1d097f8268602c20b2d1bd4f21407df9c074",
        "yandex-research/heterophilous-graphs", "data/wisconsin.npz", None,
    ),
    "npz/citeseer.npz": (
        1348784, "280278b21b434c047922e8389518861416fb3ad39389c27865ff0e6bbb0aaab7",
        "shchur/gnn-benchmark", "data/npz/citeseer.npz", None,
    ),
    "npz/cora.npz": (
        540580, "068e22d90c3849b4057dfb05851741428992af058efcd4e7ebb4186f3d581de2",
        "shchur/gnn-benchmark", "data/npz/cora.npz", None,
    ),
    "npz/cora_ml.npz": (
        1622234, "e3439bfd32c4a962d5c56a4f313793baee39181c208c90a3915b61183d3e1cda",
        "gasteigerjo/ppnp", "ppnp/data/cora_ml.npz", None,
    ),
    "npz/polblogs.npz": (
        171030, "cd0983c2b1caa3bbe2703a4e316f97bb1dccd33f98800d3d8e4bbe51cc86941b",
        "danielzuegner/nettack", "data/polblogs.npz", None,
    ),
    "npz_zipped/amazon-computers.zip": (
        3415347, "ef387b28234c0aae28f49a337d5ad4074ec31063ddd7650b8fd0ab986cecd155",
        "CrawlScript/gnn_datasets", "AmazonElectronics/amazon-computers.zip", None,
    ),
    "npz_zipped/amazon-photo.zip": (
        1778261, "9a1a31380c0480c87d4174f3e76e51956720da6e01ad5332b437e3dc99f11724",
        "CrawlScript/gnn_datasets", "AmazonElectronics/amazon-photo.zip", None,
    ),
    "npz_zipped/coauthor-cs.zip": (
        2812812, "a69e43a2a3418c44e7660f1405c4298ac270ac57884a4318d1deb8861c6ec935",
        "CrawlScript/gnn_datasets", "Coauthor/coauthor-cs.zip", None,
    ),
    "npz_zipped/coauthor-physics.zip": (
        3783431, "11ad3015c9c403786c14e820d6c1e16ea5fdfd63e39c63e2a2ff4990d7cc271d",
        "CrawlScript/gnn_datasets", "Coauthor/coauthor-physics.zip", None,
    ),
    "ogb/ogbg_molbace/mapping/README.md": (
        322, "e6b64bdc76f68f18bb3c4c9c9826eefa64be48748848670f6c5a11835d618c3f",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/mapping/README.md", None,
    ),
    "ogb/ogbg_molbace/mapping/mol.csv.gz": (
        16256, "7a7aed697887bbd1ddcca1aa9e83d069d39e09d800e5961d20b80f1704ba86b5",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/mapping/mol.csv.gz", None,
    ),
    "ogb/ogbg_molbace/raw/edge-feat.csv.gz": (
        10220, "089c1ee7c5561a0e81623780d0808e10feb2aa789a48b1fef260ad3f3494013b",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/raw/edge-feat.csv.gz", None,
    ),
    "ogb/ogbg_molbace/raw/edge.csv.gz": (
        25449, "014e9475134c9c20300fda5d8115bd0c5f192185cd74c6f8921afc28f6359ce7",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/raw/edge.csv.gz", None,
    ),
    "ogb/ogbg_molbace/raw/graph-label.csv.gz": (
        71, "a93fed4e7bf6ef1fe8b6bd79e5a4eb984d9a5ccaa4f51d6cb1accecff836b632",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/raw/graph-label.csv.gz", None,
    ),
    "ogb/ogbg_molbace/raw/node-feat.csv.gz": (
        23635, "bd031b6fd3d699c2ee4527e778e298bc0ae52439b9b720311789f83803a6025a",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/raw/node-feat.csv.gz", None,
    ),
    "ogb/ogbg_molbace/raw/num-edge-list.csv.gz": (
        1521, "78e201ed1abfd581096a3e5ba32a18ccca8e872f89c05bec1f9e52f25a7a5f76",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/raw/num-edge-list.csv.gz", None,
    ),
    "ogb/ogbg_molbace/raw/num-node-list.csv.gz": (
        1507, "ca6e661f0d4323c90543e9539971ba8695a763aac0df2e8e1c6d141985a9a2fa",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/raw/num-node-list.csv.gz", None,
    ),
    "ogb/ogbg_molbace/split/scaffold/test.csv.gz": (
        300, "8e6ede054b28f5953912996c1d59c0d8b0c7ef252b3f2679c251d205c8438755",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/split/scaffold/test.csv.gz", None,
    ),
    "ogb/ogbg_molbace/split/scaffold/train.csv.gz": (
        2532, "5f20fb296650872fc91d8af37ed3afdd6d4cd32b52e53763d543bf1b6aa89b26",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/split/scaffold/train.csv.gz", None,
    ),
    "ogb/ogbg_molbace/split/scaffold/valid.csv.gz": (
        314, "f06cb03da9a5f5609c4600f1e01148eb54779351086aede3305643335657bd66",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbace/split/scaffold/valid.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/mapping/README.md": (
        322, "e6b64bdc76f68f18bb3c4c9c9826eefa64be48748848670f6c5a11835d618c3f",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/mapping/README.md", None,
    ),
    "ogb/ogbg_molbbbp/mapping/mol.csv.gz": (
        39538, "7ec2b3b15450d30547e0f9ce2e17d1ba88f43f71e2a5a4e9df69bbb03c34c5c7",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/mapping/mol.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/raw/edge-feat.csv.gz": (
        13478, "63c88ff2aa95429411dce45f9cba68a7e06bbc793524a9bc4ec13179a5cea125",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/raw/edge-feat.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/raw/edge.csv.gz": (
        31762, "1b5843cd8221fda188809da6e60c1c27b4831cc01c568ecbe362e3532b1ccb25",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/raw/edge.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/raw/graph-label.csv.gz": (
        181, "99ae33f3f36ac7fed4a755c4912a170c0f1810e0688e6fba76d75831d4686f4f",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/raw/graph-label.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/raw/node-feat.csv.gz": (
        36959, "90b47004f3ce80a6495c8add546ae360d4c6e7356f5360664c0b041eac07df34",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/raw/node-feat.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/raw/num-edge-list.csv.gz": (
        2082, "552429af844e8d806155bb5e8bd59308528dc8d7d34d6a3f19a27e0d910fc87f",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/raw/num-edge-list.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/raw/num-node-list.csv.gz": (
        2035, "859b4d14247fc8d03b50661d17b453a23d966e3bfa22b66edb46d2e54acf36d6",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/raw/num-node-list.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/split/scaffold/test.csv.gz": (
        402, "2561d4164f8e33163d6484bcce005578b7a3de3b00b4630c072bf56219a21451",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/split/scaffold/test.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/split/scaffold/train.csv.gz": (
        3469, "e1ae77b817d05b63af3ec5aa7ab1e170ebebc0849cb7712fe11b29a48999cc75",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/split/scaffold/train.csv.gz", None,
    ),
    "ogb/ogbg_molbbbp/split/scaffold/valid.csv.gz": (
        406, "0b20d30453c99a703a672e0c023bea9e198315db3c92c094cfc610b9853b8ca6",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molbbbp/split/scaffold/valid.csv.gz", None,
    ),
    "ogb/ogbg_molesol/mapping/README.md": (
        322, "e6b64bdc76f68f18bb3c4c9c9826eefa64be48748848670f6c5a11835d618c3f",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/mapping/README.md", None,
    ),
    "ogb/ogbg_molesol/mapping/mol.csv.gz": (
        17028, "9d35028b2adf47376c1a74d89bb1f21aa584605d17eca8193b37b0c88ef2515d",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/mapping/mol.csv.gz", None,
    ),
    "ogb/ogbg_molesol/raw/edge-feat.csv.gz": (
        4116, "da5e2351193a7ef5cd3d4d78a9527797d52ca64e5af52ea4f14adcafdb0c1693",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/raw/edge-feat.csv.gz", None,
    ),
    "ogb/ogbg_molesol/raw/edge.csv.gz": (
        7414, "d4fbb9ea8127e76ac915bb650d61db36e5e5ae2695b2e869818e7632d7bec0af",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/raw/edge.csv.gz", None,
    ),
    "ogb/ogbg_molesol/raw/graph-label.csv.gz": (
        2646, "049ab083983327bd4e2d0bcdb019d6ae4c0316ae676e6add0403a5a7e94c5cad",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/raw/graph-label.csv.gz", None,
    ),
    "ogb/ogbg_molesol/raw/node-feat.csv.gz": (
        10519, "1500decb89013de31586a9725b3fe984b84cb2696f8411880ddbb09ecb3112f0",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/raw/node-feat.csv.gz", None,
    ),
    "ogb/ogbg_molesol/raw/num-edge-list.csv.gz": (
        1081, "8cc54b817d1f5c999cfd69dc9c09aebdddee942f8fd95f2462fb53699eae9ce0",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/raw/num-edge-list.csv.gz", None,
    ),
    "ogb/ogbg_molesol/raw/num-node-list.csv.gz": (
        1059, "57de66bbe53142b5bd7329e8aa5e7812dfbeffe80b6ba500b14e7d354aaa17ac",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/raw/num-node-list.csv.gz", None,
    ),
    "ogb/ogbg_molesol/split/scaffold/test.csv.gz": (
        237, "3a2367389a4d0f2d3cada1ba19d82c83edcb4db58bd564273b14b8a33749cde2",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/split/scaffold/test.csv.gz", None,
    ),
    "ogb/ogbg_molesol/split/scaffold/train.csv.gz": (
        1798, "07a08a743001b8faa61ffb62130ac60e4f89355912fd798da7a471e233cb5d1b",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/split/scaffold/train.csv.gz", None,
    ),
    "ogb/ogbg_molesol/split/scaffold/valid.csv.gz": (
        251, "fc4ddf102e27ab6436128e151dc1e83c9f2cf2be3e8c4007543dcf97bd13ff53",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molesol/split/scaffold/valid.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/mapping/README.md": (
        322, "e6b64bdc76f68f18bb3c4c9c9826eefa64be48748848670f6c5a11835d618c3f",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/mapping/README.md", None,
    ),
    "ogb/ogbg_molfreesolv/mapping/mol.csv.gz": (
        8556, "81d2ed64f4366ba1459e4cdb697c080b14e220b73074380ee968b35ed65e175d",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/mapping/mol.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/raw/edge-feat.csv.gz": (
        1441, "4452afab3488e10c904273869772d56dbe8999d05f59c295c5da771b243b08d6",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/raw/edge-feat.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/raw/edge.csv.gz": (
        2587, "adafd5b17b4d744d165993e47b1c4b9594ab15b443d4b06914b556ce8068b981",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/raw/edge.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/raw/graph-label.csv.gz": (
        1425, "70f2a5492e15e12efd8232e77de4bcc424a8592ebb59512df511c80047aa5dff",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/raw/graph-label.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/raw/node-feat.csv.gz": (
        4114, "27bbc31354d94d402d5d3b4036192a0f8dd0cd522cf4ceb579b451e7e3b58098",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/raw/node-feat.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/raw/num-edge-list.csv.gz": (
        574, "e33e4a165783062b81f2d163907153f7cc19e6fc177b8039873b11f094d713c2",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/raw/num-edge-list.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/raw/num-node-list.csv.gz": (
        567, "ea4163f5cf6745a8f18f270fea7a492765057a8eafb1f54300a2febafb353df9",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/raw/num-node-list.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/split/scaffold/test.csv.gz": (
        160, "03bd483c8c2b4997aa560dd9e2c201faacb1768fb6411df7cfc5b96959e73a6d",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/split/scaffold/test.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/split/scaffold/train.csv.gz": (
        970, "6fbefde21d5380762445203528e5d8f4cee22b2ca57c40047a679c5528f48e83",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/split/scaffold/train.csv.gz", None,
    ),
    "ogb/ogbg_molfreesolv/split/scaffold/valid.csv.gz": (
        162, "b5c18ff6c6974d6da6f3567ba4eebc9c66f5670b93ea12e0a7bb4f6b82c16bda",
        "Graph-and-Geometric-Learning/MolGroup", "dataset/ogbg_molfreesolv/split/scaffold/valid.csv.gz", None,
    ),
    "planetoid/ind.citeseer.allx": (
        595021, "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
        "tkipf/gcn", "gcn/data/ind.citeseer.allx", None,
    ),
    "planetoid/ind.citeseer.ally": (
        55623, "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
        "tkipf/gcn", "gcn/data/ind.citeseer.ally", None,
    ),
    "planetoid/ind.citeseer.graph": (
        61987, "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
        "tkipf/gcn", "gcn/data/ind.citeseer.graph", None,
    ),
    "planetoid/ind.citeseer.test.index": (
        5000, "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
        "tkipf/gcn", "gcn/data/ind.citeseer.test.index", None,
    ),
    "planetoid/ind.citeseer.tx": (
        260321, "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
        "tkipf/gcn", "gcn/data/ind.citeseer.tx", None,
    ),
    "planetoid/ind.citeseer.ty": (
        24135, "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
        "tkipf/gcn", "gcn/data/ind.citeseer.ty", None,
    ),
    "planetoid/ind.citeseer.x": (
        31087, "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
        "tkipf/gcn", "gcn/data/ind.citeseer.x", None,
    ),
    "planetoid/ind.citeseer.y": (
        3014, "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
        "tkipf/gcn", "gcn/data/ind.citeseer.y", None,
    ),
    "planetoid/ind.cora.allx": (
        257305, "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "tkipf/gcn", "gcn/data/ind.cora.allx", None,
    ),
    "planetoid/ind.cora.ally": (
        47959, "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "tkipf/gcn", "gcn/data/ind.cora.ally", None,
    ),
    "planetoid/ind.cora.graph": (
        59847, "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "tkipf/gcn", "gcn/data/ind.cora.graph", None,
    ),
    "planetoid/ind.cora.test.index": (
        5000, "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
        "tkipf/gcn", "gcn/data/ind.cora.test.index", None,
    ),
    "planetoid/ind.cora.tx": (
        148025, "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "tkipf/gcn", "gcn/data/ind.cora.tx", None,
    ),
    "planetoid/ind.cora.ty": (
        28135, "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "tkipf/gcn", "gcn/data/ind.cora.ty", None,
    ),
    "planetoid/ind.cora.x": (
        22119, "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "tkipf/gcn", "gcn/data/ind.cora.x", None,
    ),
    "planetoid/ind.cora.y": (
        4054, "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
        "tkipf/gcn", "gcn/data/ind.cora.y", None,
    ),
    "planetoid_pubmed_partial/ind.pubmed.ally": (
        224739, "0c37bbe3b5014ec365e9d393cf4791925e5ed94fb194305d74f064a8d7b50f0e",
        "tkipf/gcn", "gcn/data/ind.pubmed.ally", None,
    ),
    "planetoid_pubmed_partial/ind.pubmed.graph": (
        471808, "5b89f0036ca22909471f1e6558eb42fa06e0c730a577bde5b058b40638f81dc9",
        "tkipf/gcn", "gcn/data/ind.pubmed.graph", None,
    ),
    "planetoid_pubmed_partial/ind.pubmed.test.index": (
        6000, "b101d421688bbaecbd82e8a18f1e282378d6830f3a37666f28ebc47f844341b5",
        "tkipf/gcn", "gcn/data/ind.pubmed.test.index", None,
    ),
    "planetoid_pubmed_partial/ind.pubmed.tx": (
        405505, "4eb5f5d0f30f26497eb0ac6ac9719d09c67e284f1ed0385c93f3ef27a671da3d",
        "tkipf/gcn", "gcn/data/ind.pubmed.tx", None,
    ),
    "planetoid_pubmed_partial/ind.pubmed.ty": (
        12135, "ee2e0d4819d9fbcc403689c3bf2e49face401b605932f093bc58ab6461130fdd",
        "tkipf/gcn", "gcn/data/ind.pubmed.ty", None,
    ),
    "planetoid_pubmed_partial/ind.pubmed.x": (
        23172, "fbe9cb5c47200d1b7769a26e579be3b7130b556831f9d850e77c4c74f2599b33",
        "tkipf/gcn", "gcn/data/ind.pubmed.x", None,
    ),
    "planetoid_pubmed_partial/ind.pubmed.y": (
        854, "e6c807633307a07ed659249006536a147c7999c797f11a2560752990181b41b3",
        "tkipf/gcn", "gcn/data/ind.pubmed.y", None,
    ),
    "tu/ENZYMES/ENZYMES_A.txt": (
        885124, "5553c84f8f562f3e199dfd27192174f485e85c44c1357661098668937a739cbf",
        "bknyaz/graph_nn", "data/ENZYMES.zip", 'ENZYMES/ENZYMES_A.txt',
    ),
    "tu/ENZYMES/ENZYMES_graph_indicator.txt": (
        74914, "95ba0fa47eba6f02e6b754a215dc66d5b49de3f45f57a128514301a8d7ed5f46",
        "bknyaz/graph_nn", "data/ENZYMES.zip", 'ENZYMES/ENZYMES_graph_indicator.txt',
    ),
    "tu/ENZYMES/ENZYMES_graph_labels.txt": (
        1200, "04743e08967e61e65cdacbb90f8df6ee53742b3d2e7b84675b85ebac70506856",
        "bknyaz/graph_nn", "data/ENZYMES.zip", 'ENZYMES/ENZYMES_graph_labels.txt',
    ),
    "tu/ENZYMES/ENZYMES_node_attributes.txt": (
        3876850, "305a8fc3b12f79fb844ef3374d6a3c8ceeb4887dd4f86bbfe37932c4c5434e7b",
        "bknyaz/graph_nn", "data/ENZYMES.zip", 'ENZYMES/ENZYMES_node_attributes.txt',
    ),
    "tu/ENZYMES/ENZYMES_node_labels.txt": (
        39160, "8263eb9b64efa231a5886343483ccfc0342f2407014763a8f738fd51c32ce770",
        "bknyaz/graph_nn", "data/ENZYMES.zip", 'ENZYMES/ENZYMES_node_labels.txt',
    ),
    "tu/ENZYMES/README.txt": (
        2568, "32d5fef501200221a2c0e1af3366797fa443ab8f490231c5fb4a8719e1df48cf",
        "bknyaz/graph_nn", "data/ENZYMES.zip", 'ENZYMES/README.txt',
    ),
    "tu/IMDB-BINARY/IMDB-BINARY_A.txt": (
        4596012, "23c8964bab82f81469271186d721131714a265d0ca8c44ae048118da1d0c4092",
        "bknyaz/graph_nn", "data/IMDB-BINARY.zip", 'IMDB-BINARY/IMDB-BINARY_A.txt',
    ),
    "tu/IMDB-BINARY/IMDB-BINARY_graph_indicator.txt": (
        76924, "415cc3ba25b8c647dcf34d3de034f675ee070616f3b803be939cb26773489f26",
        "bknyaz/graph_nn", "data/IMDB-BINARY.zip", 'IMDB-BINARY/IMDB-BINARY_graph_indicator.txt',
    ),
    "tu/IMDB-BINARY/IMDB-BINARY_graph_labels.txt": (
        2000, "63a44411fd6342b9c4429828c16e144a2a11ef5244e25bb60f0ffa8b3ee2ffce",
        "bknyaz/graph_nn", "data/IMDB-BINARY.zip", 'IMDB-BINARY/IMDB-BINARY_graph_labels.txt',
    ),
    "tu/IMDB-MULTI/IMDB-MULTI_A.txt": (
        4702980, "fb538b23758d78df199272301e57dc74ad5754d6c3d79d5ed0a343193ddf4ec6",
        "bknyaz/graph_nn", "data/IMDB-MULTI.zip", 'IMDB-MULTI/IMDB-MULTI_A.txt',
    ),
    "tu/IMDB-MULTI/IMDB-MULTI_graph_indicator.txt": (
        82760, "0274532a0e47dad9cdd21c08995c2265e43040a2c2a3b36c62fdb790994571d3",
        "bknyaz/graph_nn", "data/IMDB-MULTI.zip", 'IMDB-MULTI/IMDB-MULTI_graph_indicator.txt',
    ),
    "tu/IMDB-MULTI/IMDB-MULTI_graph_labels.txt": (
        3000, "613c2357b6b996f6f04b91697a99da87774820f9d08bf22813992f4c7afda855",
        "bknyaz/graph_nn", "data/IMDB-MULTI.zip", 'IMDB-MULTI/IMDB-MULTI_graph_labels.txt',
    ),
    "tu/MUTAG/MUTAG_A.txt": (
        76940, "d9656ca7493f3445d737c711710bb36fd432dddd1c0ea32e1d4713c86ebd28e2",
        "bknyaz/graph_nn", "data/MUTAG.zip", 'MUTAG/MUTAG_A.txt',
    ),
    "tu/MUTAG/MUTAG_edge_labels.txt": (
        14884, "4669ce755075ff86c3240709345745886400908fa637a49310459b9c267b3e56",
        "bknyaz/graph_nn", "data/MUTAG.zip", 'MUTAG/MUTAG_edge_labels.txt',
    ),
    "tu/MUTAG/MUTAG_graph_indicator.txt": (
        11532, "7d520a4d6c7961c0cdeabe076d8fe27e795b6d373485c9a2b744987e560a2056",
        "bknyaz/graph_nn", "data/MUTAG.zip", 'MUTAG/MUTAG_graph_indicator.txt',
    ),
    "tu/MUTAG/MUTAG_graph_labels.txt": (
        439, "a1518ea39ba3426bd42f57396b9c4baffe68e9adc718caeeab0119c6591a5f2c",
        "bknyaz/graph_nn", "data/MUTAG.zip", 'MUTAG/MUTAG_graph_labels.txt',
    ),
    "tu/MUTAG/MUTAG_node_labels.txt": (
        6742, "678f429965490e84dd27713017538c995fc05d1621beac910848b600015ee863",
        "bknyaz/graph_nn", "data/MUTAG.zip", 'MUTAG/MUTAG_node_labels.txt',
    ),
    "tu/MUTAG/README.txt": (
        2611, "66de65e4826e112482ec680bbbdf7c0af56d826ce935c110786d130b79b76b06",
        "bknyaz/graph_nn", "data/MUTAG.zip", 'MUTAG/README.txt',
    ),
    "tu/NCI1/NCI1_A.txt": (
        3235898, "2c028eda59a5fe96e2265a63d9ac236901bd9a7dc658498be13cd704a703076d",
        "bknyaz/graph_nn", "data/NCI1.zip", 'NCI1/NCI1_A.txt',
    ),
    "tu/NCI1/NCI1_graph_indicator.txt": (
        585267, "ffe5acfa754b057d5ce0dc725c5aadb631628161886cc040d38c719635257dc5",
        "bknyaz/graph_nn", "data/NCI1.zip", 'NCI1/NCI1_graph_indicator.txt',
    ),
    "tu/NCI1/NCI1_graph_labels.txt": (
        8220, "fae44681e70113f496256ae87eaac33b7836e3a97fe8e023933b84fde6a5c8a2",
        "bknyaz/graph_nn", "data/NCI1.zip", 'NCI1/NCI1_graph_labels.txt',
    ),
    "tu/NCI1/NCI1_node_labels.txt": (
        245932, "dc0a22b6cbff0c939de00373e823977ba32b358f560e4288d7602f7b51407ee2",
        "bknyaz/graph_nn", "data/NCI1.zip", 'NCI1/NCI1_node_labels.txt',
    ),
    "tu/NCI1/README.txt": (
        2477, "1866d918409a22531ef00ff7b0f72200c3a06722342c23c5e3299cebb5cd8757",
        "bknyaz/graph_nn", "data/NCI1.zip", 'NCI1/README.txt',
    ),
    "tu/NCI109/NCI109_A.txt": (
        3231486, "9c0ae8c1e631f771663de1e095eb36604f4feeb512e46b90b0409f05f876bab6",
        "bknyaz/graph_nn", "data/NCI109.zip", 'NCI109/NCI109_A.txt',
    ),
    "tu/NCI109/NCI109_graph_indicator.txt": (
        583372, "f86bb0249bf985be397f46c493879022cb068b1d4331215151442de1738c9163",
        "bknyaz/graph_nn", "data/NCI109.zip", 'NCI109/NCI109_graph_indicator.txt',
    ),
    "tu/NCI109/NCI109_graph_labels.txt": (
        8254, "8ab9932d5347b935e3aaa7be2f787cc78860fa1af9df836dd3f03cde6939b640",
        "bknyaz/graph_nn", "data/NCI109.zip", 'NCI109/NCI109_graph_labels.txt',
    ),
    "tu/NCI109/NCI109_node_labels.txt": (
        245264, "d2ceda711b4ea4218909e5527325374d7e50c698b0d8a22567390a5526dbd6bc",
        "bknyaz/graph_nn", "data/NCI109.zip", 'NCI109/NCI109_node_labels.txt',
    ),
    "tu/NCI109/README.txt": (
        2479, "11661d333555f49157b9edc5bfda849860035c78470e652ac7f99e2f8c0b4388",
        "bknyaz/graph_nn", "data/NCI109.zip", 'NCI109/README.txt',
    ),
    "tu/PROTEINS/PROTEINS_A.txt": (
        2022990, "4c4b33e272fc95cac6d27ed6d5d12b9a852c8610e91fff59f8f0dbdd5a20df67",
        "bknyaz/graph_nn", "data/PROTEINS.zip", 'PROTEINS/PROTEINS_A.txt',
    ),
    "tu/PROTEINS/PROTEINS_graph_indicator.txt": (
        169673, "8d4ff1e852a5c28561e9bffb44cf9490bc552b13a3b6156dd12dc7f44e9afc4a",
        "bknyaz/graph_nn", "data/PROTEINS.zip", 'PROTEINS/PROTEINS_graph_indicator.txt',
    ),
    "tu/PROTEINS/PROTEINS_graph_labels.txt": (
        2226, "c0ef9810c440775252872318d0c8adc385588e14bc4c47a2c34aa96ee3c7cdcd",
        "bknyaz/graph_nn", "data/PROTEINS.zip", 'PROTEINS/PROTEINS_graph_labels.txt',
    ),
    "tu/PROTEINS/PROTEINS_node_attributes.txt": (
        478190, "54eef829abb37e458a5fbf3a3c581e48e5810e220463c2cd951856b9ceb08f07",
        "bknyaz/graph_nn", "data/PROTEINS.zip", 'PROTEINS/PROTEINS_node_attributes.txt',
    ),
    "tu/PROTEINS/PROTEINS_node_labels.txt": (
        86942, "f758e8ad3d6e3c026b50833d75f6f90735b94eb3345e4243707f495ca8afea8d",
        "bknyaz/graph_nn", "data/PROTEINS.zip", 'PROTEINS/PROTEINS_node_labels.txt',
    ),
    "tu/PROTEINS/README.txt": (
        2221, "e9c4ed2c9a4059ddfdc2eb7330ebecfc6c8d42dabd5ce2ee67f28aed0db49da7",
        "bknyaz/graph_nn", "data/PROTEINS.zip", 'PROTEINS/README.txt',
    ),
    "tu/PTC_MR/PTC_MR_A.txt": (
        106642, "f79523ff94dfbef539e5602a8ac1931a50a2800f33fa1d30e5e31725289b5202",
        "bknyaz/graph_nn", "data/PTC_MR.zip", 'PTC_MR/PTC_MR_A.txt',
    ),
    "tu/PTC_MR/PTC_MR_edge_labels.txt": (
        20216, "acee2f93b52175a329009dc837bea9db7c2a121c2ef0b1587b38bbe6fc9b8177",
        "bknyaz/graph_nn", "data/PTC_MR.zip", 'PTC_MR/PTC_MR_edge_labels.txt',
    ),
    "tu/PTC_MR/PTC_MR_graph_indicator.txt": (
        18155, "d52754f3cbc54e29324f884b4c17200c16e06db0c499afae300b4fa1bb6d794b",
        "bknyaz/graph_nn", "data/PTC_MR.zip", 'PTC_MR/PTC_MR_graph_indicator.txt',
    ),
    "tu/PTC_MR/PTC_MR_graph_labels.txt": (
        880, "64210accbe4c6c027535b1294e0da652b1f539667f7a2d4bf5121dcd8b00a224",
        "bknyaz/graph_nn", "data/PTC_MR.zip", 'PTC_MR/PTC_MR_graph_labels.txt',
    ),
    "tu/PTC_MR/PTC_MR_node_labels.txt": (
        9842, "cc50d1e1c5f4c98b2100cf50c5ddd88ff28b419a9180d531046b75ce22983235",
        "bknyaz/graph_nn", "data/PTC_MR.zip", 'PTC_MR/PTC_MR_node_labels.txt',
    ),
    "tu/PTC_MR/README.txt": (
        2462, "f0dcf17d5e115efb4db51d6be6ca629181ca9cdef9f975663dd054a3c779c52a",
        "bknyaz/graph_nn", "data/PTC_MR.zip", 'PTC_MR/README.txt',
    ),
}
