import numpy as np
for s in ['train','test']:
    E=np.fromfile(f'bin_{s}_dense',dtype=np.float32).reshape(-1,512)
    sc=np.abs(E).max(1,keepdims=True)/127; Q=np.round(E/sc).clip(-127,127)*sc
    print(s,'max abs err',np.abs(Q-E).max())
    Q.astype(np.float32).tofile(f'bin_q{s}_dense')
    import shutil
    for f in ['hdr','indptr','indices','data','y']: shutil.copy(f'bin_{s}_{f}',f'bin_q{s}_{f}')
